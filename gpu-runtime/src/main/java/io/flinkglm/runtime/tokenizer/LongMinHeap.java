package io.flinkglm.runtime.tokenizer;

import java.util.Arrays;

/** A binary min-heap of primitive {@code long}s, for the long-piece merge loop (no boxing). */
final class LongMinHeap {
    private long[] heap;
    private int size;

    LongMinHeap(int initialCapacity) {
        heap = new long[Math.max(16, initialCapacity)];
    }

    boolean isEmpty() {
        return size == 0;
    }

    void push(long value) {
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, size * 2);
        }
        int i = size++;
        while (i > 0 && heap[(i - 1) >>> 1] > value) {
            heap[i] = heap[(i - 1) >>> 1];
            i = (i - 1) >>> 1;
        }
        heap[i] = value;
    }

    long pop() {
        long top = heap[0];
        long last = heap[--size];
        int i = 0;
        for (int child = 1; child < size; child = 2 * i + 1) {
            if (child + 1 < size && heap[child + 1] < heap[child]) {
                child++;
            }
            if (heap[child] >= last) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = last;
        return top;
    }
}
