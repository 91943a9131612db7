package io.flinkglm.runtime.tokenizer;

import java.util.Arrays;

/** A growable {@code int[]} of token ids, so encoding never boxes. */
final class IdBuffer {
    private int[] ids;
    private int size;

    IdBuffer(int initialCapacity) {
        ids = new int[Math.max(16, initialCapacity)];
    }

    void add(int id) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, size * 2);
        }
        ids[size++] = id;
    }

    void addAll(int[] more) {
        if (size + more.length > ids.length) {
            ids = Arrays.copyOf(ids, Math.max(size * 2, size + more.length));
        }
        System.arraycopy(more, 0, ids, size, more.length);
        size += more.length;
    }

    int[] toArray() {
        return Arrays.copyOf(ids, size);
    }
}
