package io.flinkglm.runtime.tokenizer;

import java.util.Arrays;

/**
 * (left id, right id) to the merge that joins them: its rank (lower merges first) and the merged id.
 *
 * <p>Keys and values are packed into {@code long}s in open-addressed arrays, so the encoder's inner
 * loop does one multiply, a probe or two and no allocation. A value packs {@code rank << 32 | id};
 * comparing packed values therefore compares ranks, which is all the merge loop needs.
 */
final class PairMergeTable {
    /** Packed value of a pair that does not merge; larger than every real one. */
    static final long NO_MERGE = Long.MAX_VALUE;
    private static final long EMPTY_KEY = -1L;

    private long[] keys;
    private long[] values;
    private int size;

    PairMergeTable(int expectedPairs) {
        int capacity = Integer.highestOneBit(Math.max(16, expectedPairs) * 2 - 1) * 2;
        keys = new long[capacity];
        values = new long[capacity];
        Arrays.fill(keys, EMPTY_KEY);
    }

    /** Records that {@code left right} merge into {@code merged} at {@code rank}, keeping the lowest rank. */
    void put(int left, int right, int rank, int merged) {
        if (size * 2 >= keys.length) {
            rehash(keys.length * 2);
        }
        long key = pairKey(left, right);
        long value = ((long) rank << 32) | merged;
        int mask = keys.length - 1;
        int slot = spread(key) & mask;
        while (keys[slot] != EMPTY_KEY) {
            if (keys[slot] == key) {
                values[slot] = Math.min(values[slot], value);
                return;
            }
            slot = (slot + 1) & mask;
        }
        keys[slot] = key;
        values[slot] = value;
        size++;
    }

    /** The packed {@code rank << 32 | mergedId} for the pair, or {@link #NO_MERGE}. */
    long lookup(int left, int right) {
        long key = pairKey(left, right);
        int mask = keys.length - 1;
        for (int slot = spread(key) & mask; ; slot = (slot + 1) & mask) {
            long k = keys[slot];
            if (k == key) {
                return values[slot];
            }
            if (k == EMPTY_KEY) {
                return NO_MERGE;
            }
        }
    }

    private void rehash(int capacity) {
        long[] oldKeys = keys;
        long[] oldValues = values;
        keys = new long[capacity];
        values = new long[capacity];
        Arrays.fill(keys, EMPTY_KEY);
        int mask = capacity - 1;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != EMPTY_KEY) {
                int slot = spread(oldKeys[i]) & mask;
                while (keys[slot] != EMPTY_KEY) {
                    slot = (slot + 1) & mask;
                }
                keys[slot] = oldKeys[i];
                values[slot] = oldValues[i];
            }
        }
    }

    private static long pairKey(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    private static int spread(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 32);
    }
}
