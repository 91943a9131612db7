package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.backend.cpu.Kernels;
import io.flinkglm.runtime.backend.cpu.PanelMatrix;
import io.flinkglm.runtime.backend.cpu.Parallel;
import io.flinkglm.runtime.model.DType;

import java.util.SplittableRandom;

/**
 * The CPU backend's own matrix product ({@link Kernels#BEST}, panels split over {@link Parallel}'s
 * threads as the forward pass splits them) timed on 16-token products, in GFLOP/s. Over one matrix
 * that stays in cache this is the honest compute peak a decode step can reach on this machine;
 * over many it is the same product streamed from memory.
 *
 * <pre>{@code
 * double peak = CpuMatmulPeak.gflops(true, 1, 400); // bf16, one cache-resident matrix
 * }</pre>
 */
public final class CpuMatmulPeak {
    /** Two of the vector kernels' 8-token tiles: their densest shape. */
    static final int TOKENS = 16;
    private static final int COLS = 1536;
    /** 1.5 MB of weights either way: each of two cores' halves fits its L2. */
    private static final int BF16_ROWS = 512;
    private static final int F32_ROWS = 256;
    private static final int PANELS_PER_TASK = 8;

    private CpuMatmulPeak() {}

    /**
     * Best of four rounds of {@code products} 16-token products cycling over {@code distinct}
     * random matrices (bf16 or f32), in GFLOP/s (2 per multiply-add).
     */
    public static double gflops(boolean bf16, int distinct, int products) {
        int rows = bf16 ? BF16_ROWS : F32_ROWS;
        SplittableRandom random = new SplittableRandom(1);
        PanelMatrix[] matrices = new PanelMatrix[distinct];
        for (int m = 0; m < distinct; m++) {
            float[] values = new float[rows * COLS];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (random.nextDouble() - 0.5);
            }
            matrices[m] = bf16 ? PanelMatrix.ofBf16(rows, COLS, toBf16(values)) : PanelMatrix.ofFloats(rows, COLS, values);
        }
        float[] x = new float[TOKENS * COLS];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) random.nextDouble();
        }
        Kernels kernels = Kernels.BEST;
        float[] prepared = kernels.prepare(matrices[0], x, TOKENS);
        float[] out = new float[TOKENS * rows];
        int panels = matrices[0].panels();
        int tasks = (panels + PANELS_PER_TASK - 1) / PANELS_PER_TASK;
        double best = 0;
        try (Parallel pool = new Parallel(Parallel.machineThreads())) { // as many threads as a backend alone gets, even while the bench's backend is open
            for (int round = 0; round < 5; round++) { // round 0 compiles the kernels, outside the figure
                long start = System.nanoTime();
                for (int i = 0; i < products; i++) {
                    PanelMatrix w = matrices[i % distinct];
                    pool.forEach(tasks, task -> kernels.matmulPanels(w, prepared, TOKENS, out,
                            task * PANELS_PER_TASK, Math.min(panels, (task + 1) * PANELS_PER_TASK)));
                }
                long nanos = System.nanoTime() - start;
                if (round > 0) {
                    best = Math.max(best, 2.0 * TOKENS * rows * COLS * products / nanos);
                }
            }
        }
        return best;
    }

    private static short[] toBf16(float[] values) {
        short[] bits = new short[values.length];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = DType.floatToBf16(values[i]);
        }
        return bits;
    }
}
