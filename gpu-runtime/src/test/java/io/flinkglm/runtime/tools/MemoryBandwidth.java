package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.backend.cpu.Kernels;
import io.flinkglm.runtime.backend.cpu.Parallel;

/**
 * The machine's memory-read bandwidth as the kernels see it: all cores stream a buffer far larger
 * than any cache, reading every byte once per pass, with the same threads and SIMD width the
 * forward pass uses. Benchmarks report decode bandwidth as a fraction of this figure, measured in
 * the same run, because absolute speeds on a shared machine mean little.
 *
 * <pre>{@code
 * double gbs = MemoryBandwidth.measure(512L << 20, 3);
 * }</pre>
 */
public final class MemoryBandwidth {
    private static final int SLICE = 1 << 16; // floats per work item: 256 KB, the multiplier stays in L2
    /**
     * The largest buffer read: twice the development machine's last-level cache, so the cache's share is small
     * already, and small enough to sit beside a 9B model's weights in the heap (a decode step of GLM-4-9B reads
     * 17.5 GiB, more than a Java array holds).
     */
    private static final long MAX_BYTES = 1L << 30;

    private MemoryBandwidth() {}

    /** Best of {@code passes} full reads of a {@code bytes}-sized buffer (at most 1 GiB), in GB/s (10^9 bytes). */
    public static double measure(long bytes, int passes) {
        int slices = (int) Math.max(1, Math.min(bytes, MAX_BYTES) / 4 / SLICE);
        float[] data = new float[slices * SLICE]; // [slices * SLICE]
        for (int i = 0; i < data.length; i += 1024) {
            data[i] = i; // touch every page so the OS has mapped it before timing
        }
        float[] ones = new float[SLICE];
        java.util.Arrays.fill(ones, 1f);
        Kernels k = Kernels.BEST;
        float[] sink = new float[slices];
        double best = 0;
        try (Parallel pool = new Parallel(Parallel.machineThreads())) { // as many threads as a backend alone gets, even while the bench's backend is open
            for (int p = 0; p < passes + 1; p++) {
                long start = System.nanoTime();
                pool.forEach(slices, s -> sink[s] = k.dot(data, s * SLICE, ones, 0, SLICE));
                long nanos = System.nanoTime() - start;
                if (p > 0) { // the first pass warms up the JIT
                    best = Math.max(best, (double) data.length * 4 / nanos);
                }
            }
        }
        if (Float.isNaN(sink[0])) {
            throw new AssertionError(); // keeps the reads observable
        }
        return best;
    }
}
