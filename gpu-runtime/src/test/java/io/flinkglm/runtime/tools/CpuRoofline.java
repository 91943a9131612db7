package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.backend.cpu.Parallel;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Where a 16-token decode step's time can go on this CPU, in three figures from one run: the
 * fma peak of one core (16 independent chains, no memory), and the 16-token bf16 product on all
 * cores with its weights resident in L2 and streamed from memory. Not a test: the measurements
 * behind the engine issue's note on batch scaling.
 *
 * <pre>{@code
 * cd gpu-runtime && java --add-modules jdk.incubator.vector \
 *     -cp "target/classes:target/test-classes:$(cat target/runtime-classpath.txt)" \
 *     io.flinkglm.runtime.tools.CpuRoofline
 * }</pre>
 */
public final class CpuRoofline {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Distinct matrices streamed: 400 x 1.5 MB, more than the 480 MiB L3 of the development machine. */
    private static final int STREAMED = 400;

    public static void main(String[] args) {
        float[] warm = new float[2 * F.length()];
        for (int i = 0; i < 50; i++) {
            fmaChains(100_000, warm); // compiled before the first measurement
        }
        for (int round = 0; round < 4; round++) {
            System.out.printf("fma peak, one core: %.0f GFLOPS; 16-token bf16 product on %d threads:"
                            + " %.0f GFLOPS weights in L2, %.0f GFLOPS streamed%n",
                    fmaPeak(), Parallel.machineThreads(), CpuMatmulPeak.gflops(true, 1, STREAMED),
                    CpuMatmulPeak.gflops(true, STREAMED, STREAMED));
        }
    }

    private static double fmaPeak() {
        float[] seed = new float[2 * F.length()];
        java.util.Arrays.fill(seed, 0.999f);
        long n = 20_000_000;
        long start = System.nanoTime();
        float sink = fmaChains(n, seed);
        long nanos = System.nanoTime() - start;
        if (sink == 42f) {
            System.out.print("");
        }
        return n * 16.0 * 2 * F.length() / nanos;
    }

    private static float fmaChains(long n, float[] seed) {
        FloatVector w = FloatVector.fromArray(F, seed, 0);
        FloatVector v = FloatVector.fromArray(F, seed, F.length());
        FloatVector a0 = w, a1 = w, a2 = w, a3 = w, a4 = w, a5 = w, a6 = w, a7 = w;
        FloatVector a8 = w, a9 = w, a10 = w, a11 = w, a12 = w, a13 = w, a14 = w, a15 = w;
        for (long i = 0; i < n; i++) {
            a0 = w.fma(v, a0);
            a1 = w.fma(v, a1);
            a2 = w.fma(v, a2);
            a3 = w.fma(v, a3);
            a4 = w.fma(v, a4);
            a5 = w.fma(v, a5);
            a6 = w.fma(v, a6);
            a7 = w.fma(v, a7);
            a8 = w.fma(v, a8);
            a9 = w.fma(v, a9);
            a10 = w.fma(v, a10);
            a11 = w.fma(v, a11);
            a12 = w.fma(v, a12);
            a13 = w.fma(v, a13);
            a14 = w.fma(v, a14);
            a15 = w.fma(v, a15);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10)
                .add(a11).add(a12).add(a13).add(a14).add(a15).reduceLanes(VectorOperators.ADD);
    }

}
