package io.flinkglm.runtime.tokenizer;

import java.util.Arrays;

/**
 * Token bytes to token id, without a {@code byte[]} key object per lookup.
 *
 * <p>Open addressing over one shared byte pool: a lookup hashes a slice of the caller's array and
 * compares it in place, which is what the encoder's whole-piece check and the merge-table
 * construction do hundreds of thousands of times at load. Filled once, then only read.
 */
final class ByteSequenceIndex {
    private static final int EMPTY = -1;

    private byte[] pool = new byte[1 << 16];
    private int poolSize;
    private int[] entryOffset;
    private int[] entryLength;
    private int[] entryValue;
    private int entries;
    private int[] slots; // entry index per slot, or EMPTY

    ByteSequenceIndex(int expectedEntries) {
        int capacity = Math.max(16, expectedEntries);
        entryOffset = new int[capacity];
        entryLength = new int[capacity];
        entryValue = new int[capacity];
        slots = newSlots(Integer.highestOneBit(capacity * 2 - 1) * 2);
    }

    /** The value stored for {@code bytes[from, to)}, or -1. */
    int get(byte[] bytes, int from, int to) {
        int mask = slots.length - 1;
        for (int slot = hash(bytes, from, to) & mask; ; slot = (slot + 1) & mask) {
            int entry = slots[slot];
            if (entry == EMPTY) {
                return -1;
            }
            if (sameBytes(entry, bytes, from, to)) {
                return entryValue[entry];
            }
        }
    }

    int get(byte[] bytes) {
        return get(bytes, 0, bytes.length);
    }

    /** Stores {@code value} for {@code bytes} unless present; returns the earlier value, or -1 if new. */
    int putIfAbsent(byte[] bytes, int value) {
        int existing = get(bytes);
        if (existing >= 0) {
            return existing;
        }
        if (entries == entryValue.length) {
            growEntries();
        }
        if (poolSize + bytes.length > pool.length) {
            pool = Arrays.copyOf(pool, Math.max(pool.length * 2, poolSize + bytes.length));
        }
        System.arraycopy(bytes, 0, pool, poolSize, bytes.length);
        entryOffset[entries] = poolSize;
        entryLength[entries] = bytes.length;
        entryValue[entries] = value;
        poolSize += bytes.length;
        insertSlot(entries++);
        return -1;
    }

    private boolean sameBytes(int entry, byte[] bytes, int from, int to) {
        int off = entryOffset[entry];
        return entryLength[entry] == to - from
                && Arrays.equals(pool, off, off + entryLength[entry], bytes, from, to);
    }

    private void insertSlot(int entry) {
        if (entries * 2 > slots.length) {
            slots = newSlots(slots.length * 2);
            for (int e = 0; e < entries; e++) {
                placeSlot(e);
            }
        } else {
            placeSlot(entry);
        }
    }

    private void placeSlot(int entry) {
        int mask = slots.length - 1;
        int off = entryOffset[entry];
        int slot = hash(pool, off, off + entryLength[entry]) & mask;
        while (slots[slot] != EMPTY) {
            slot = (slot + 1) & mask;
        }
        slots[slot] = entry;
    }

    private void growEntries() {
        int capacity = entryValue.length * 2;
        entryOffset = Arrays.copyOf(entryOffset, capacity);
        entryLength = Arrays.copyOf(entryLength, capacity);
        entryValue = Arrays.copyOf(entryValue, capacity);
    }

    private static int[] newSlots(int size) {
        int[] s = new int[size];
        Arrays.fill(s, EMPTY);
        return s;
    }

    private static int hash(byte[] bytes, int from, int to) {
        int h = 0x9E3779B9;
        for (int i = from; i < to; i++) {
            h = (h ^ bytes[i]) * 0x01000193;
        }
        return h ^ (h >>> 15);
    }
}
