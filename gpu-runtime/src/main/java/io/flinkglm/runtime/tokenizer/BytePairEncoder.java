package io.flinkglm.runtime.tokenizer;

import java.util.Arrays;

/**
 * Byte-level BPE on one pre-split piece: start from single bytes and repeatedly merge the adjacent
 * pair with the lowest rank, leftmost on ties (tiktoken's {@code byte_pair_merge}).
 *
 * <p>Works on {@code int} ids and packed {@code long} pair ranks in two small arrays; the quadratic
 * rescan is the same as tiktoken's and cheap for the short pieces the pre-split regex produces.
 * Pieces longer than {@link #LONG_PIECE_BYTES} (a megabyte of letters is one piece) go through a
 * heap instead, so hostile input costs O(n log n), not O(n^2); both give the same ids.
 */
final class BytePairEncoder {
    /** Above this the rescan's n^2 outgrows the heap's bookkeeping. */
    static final int LONG_PIECE_BYTES = 256;

    private final ByteSequenceIndex tokenIds;
    private final PairMergeTable merges;
    private final int[] byteTokenIds; // [256]: id of each single-byte token
    private final boolean wholePieceFirst;

    /**
     * @param wholePieceFirst emit a piece that is itself a token without merging (tiktoken does;
     *     a tokenizer.json does when its model says {@code ignore_merges})
     */
    BytePairEncoder(ByteSequenceIndex tokenIds, PairMergeTable merges, int[] byteTokenIds, boolean wholePieceFirst) {
        this.tokenIds = tokenIds;
        this.merges = merges;
        this.byteTokenIds = byteTokenIds;
        this.wholePieceFirst = wholePieceFirst;
    }

    /**
     * The merge table tiktoken implies: any two tokens whose concatenation is a token merge into it,
     * at that token's rank. Enumerating every split of every token finds all such pairs.
     */
    static PairMergeTable mergesFromRanks(byte[][] tokenBytes, int rankCount, ByteSequenceIndex tokenIds) {
        PairMergeTable table = new PairMergeTable(rankCount * 4);
        for (int rank = 0; rank < rankCount; rank++) {
            byte[] bytes = tokenBytes[rank];
            for (int split = 1; split < bytes.length; split++) {
                int left = tokenIds.get(bytes, 0, split);
                int right = left < 0 ? -1 : tokenIds.get(bytes, split, bytes.length);
                if (right >= 0) {
                    table.put(left, right, rank, rank);
                }
            }
        }
        return table;
    }

    /** The ordinary token spelled by exactly these bytes, or -1. */
    int tokenId(byte[] bytes) {
        return tokenIds.get(bytes);
    }

    int[] encodePiece(byte[] piece) {
        if (wholePieceFirst || piece.length == 1) {
            int whole = tokenIds.get(piece);
            if (whole >= 0) {
                return new int[] {whole};
            }
        }
        return piece.length > LONG_PIECE_BYTES ? mergeWithHeap(piece) : mergeByRescan(piece);
    }

    /** The reference merge loop: rescan all pairs for the lowest rank after every merge. */
    int[] mergeByRescan(byte[] piece) {
        int n = piece.length;
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = byteTokenIds[piece[i] & 0xFF];
        }
        long[] pairs = new long[Math.max(1, n - 1)]; // pairs[i] merges ids[i] and ids[i + 1]
        for (int i = 0; i + 1 < n; i++) {
            pairs[i] = merges.lookup(ids[i], ids[i + 1]);
        }
        while (n > 1) {
            int best = -1;
            long bestPacked = PairMergeTable.NO_MERGE;
            for (int i = 0; i + 1 < n; i++) {
                if (pairs[i] < bestPacked) { // strict: the leftmost of equal ranks wins
                    bestPacked = pairs[i];
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            ids[best] = (int) bestPacked;
            System.arraycopy(ids, best + 2, ids, best + 1, n - best - 2);
            if (best + 3 < n) { // arraycopy rejects a start past the end even for zero elements
                System.arraycopy(pairs, best + 2, pairs, best + 1, n - best - 3);
            }
            n--;
            if (best > 0) {
                pairs[best - 1] = merges.lookup(ids[best - 1], ids[best]);
            }
            if (best + 1 < n) {
                pairs[best] = merges.lookup(ids[best], ids[best + 1]);
            }
        }
        return n == ids.length ? ids : Arrays.copyOf(ids, n);
    }

    /**
     * The same merges in O(n log n): parts form a linked list over byte positions, candidate pairs
     * sit in a min-heap keyed {@code rank << 32 | position} (so equal ranks pop leftmost first), and
     * an entry whose pair has changed since it was pushed is skipped when popped.
     */
    int[] mergeWithHeap(byte[] piece) {
        int n = piece.length;
        int[] ids = new int[n];   // [n]: token id of the part starting at each live position
        int[] next = new int[n];  // [n]: start of the following part, n at the end
        int[] prev = new int[n];  // [n]: start of the preceding part, -1 at the start
        for (int i = 0; i < n; i++) {
            ids[i] = byteTokenIds[piece[i] & 0xFF];
            next[i] = i + 1;
            prev[i] = i - 1;
        }
        LongMinHeap heap = new LongMinHeap(n);
        for (int i = 0; i + 1 < n; i++) {
            push(heap, i, merges.lookup(ids[i], ids[i + 1]));
        }
        int parts = n;
        while (!heap.isEmpty()) {
            long entry = heap.pop();
            int at = (int) entry;
            int right = next[at];
            if (prev[at] == -2 || right >= n) {
                continue; // the part was absorbed, or it is now the last one
            }
            long packed = merges.lookup(ids[at], ids[right]);
            if (packed == PairMergeTable.NO_MERGE || (packed >>> 32) != (entry >>> 32)) {
                continue; // stale: this pair changed after the entry was pushed
            }
            ids[at] = (int) packed;
            next[at] = next[right];
            if (next[at] < n) {
                prev[next[at]] = at;
            }
            prev[right] = -2;
            parts--;
            if (prev[at] >= 0) {
                push(heap, prev[at], merges.lookup(ids[prev[at]], ids[at]));
            }
            if (next[at] < n) {
                push(heap, at, merges.lookup(ids[at], ids[next[at]]));
            }
        }
        int[] out = new int[parts];
        for (int at = 0, k = 0; at < n; at = next[at]) {
            out[k++] = ids[at];
        }
        return out;
    }

    private static void push(LongMinHeap heap, int position, long packed) {
        if (packed != PairMergeTable.NO_MERGE) {
            heap.push((packed & 0xFFFFFFFF00000000L) | position);
        }
    }
}
