package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.backend.cpu.CpuBackend;

import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.model.Glm4Model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Times one backend decode step of 1 sequence and of 16 sequences, alternating in one JVM so the
 * ratio survives a noisy machine. Not a test: a quick loop for kernel work.
 *
 * <p>An A/B of an experiment read from a system property at run time: {@code -Dab=NAME
 * -Dab.values=V1,V2}; rounds cycle through the values, and the best of each is reported.
 *
 * <pre>{@code
 * mvn -o -q -pl gpu-runtime test-compile dependency:build-classpath -DincludeScope=runtime \
 *     -Dmdep.outputFile=target/runtime-classpath.txt
 * cd gpu-runtime && java --add-modules jdk.incubator.vector \
 *     -cp "target/classes:target/test-classes:$(cat target/runtime-classpath.txt)" \
 *     io.flinkglm.runtime.tools.DecodeStepBench /tmp/small-bf16 [rounds=8] [context=64]
 * }</pre>
 */
public final class DecodeStepBench {
    private static final int BATCH = 16;
    private static final int BLOCK = 16;

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int context = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        String ab = System.getProperty("ab");
        String[] values = ab == null ? new String[] {""} : System.getProperty("ab.values").split(",");

        CpuBackend backend = new CpuBackend(Glm4Model.load(dir));
        int blocksPerSeq = (context + 1 + BLOCK - 1) / BLOCK;
        try (KvCache kv = backend.newKvCache(BATCH * blocksPerSeq, BLOCK)) {
            List<SequenceChunk> prefill = new ArrayList<>();
            List<SequenceChunk> decode = new ArrayList<>();
            for (int s = 0; s < BATCH; s++) {
                int[] table = new int[blocksPerSeq];
                for (int b = 0; b < blocksPerSeq; b++) {
                    table[b] = s * blocksPerSeq + b;
                }
                int[] prompt = new int[context];
                for (int i = 0; i < context; i++) {
                    prompt[i] = 3 + (s * 131 + i * 17) % 1000;
                }
                prefill.add(new SequenceChunk(prompt, 0, table, false));
                decode.add(new SequenceChunk(new int[] {7 + s}, context, table, false));
            }
            backend.forwardLogits(kv, prefill);
            List<SequenceChunk> one = decode.subList(0, 1);

            double[][] best = new double[values.length][2];
            for (double[] b : best) {
                Arrays.fill(b, Double.MAX_VALUE);
            }
            for (int r = 0; r < rounds; r++) {
                int v = r % values.length;
                if (ab != null) {
                    System.setProperty(ab, values[v]);
                }
                double single = time(backend, kv, one, 4);
                double batch = time(backend, kv, decode, 1);
                if (r >= values.length) { // the first pass over the values warms up
                    best[v][0] = Math.min(best[v][0], single);
                    best[v][1] = Math.min(best[v][1], batch);
                }
                System.out.printf("round %d %s: 1 seq %.1f ms, %d seqs %.1f ms, ratio %.2f%n",
                        r, label(ab, values[v]), single, BATCH, batch, BATCH * single / batch);
            }
            for (int v = 0; v < values.length; v++) {
                System.out.printf("best %s: 1 seq %.1f ms, %d seqs %.1f ms, throughput ratio %.2f%n",
                        label(ab, values[v]), best[v][0], BATCH, best[v][1], BATCH * best[v][0] / best[v][1]);
            }
        }
    }

    private static String label(String ab, String value) {
        return ab == null ? "" : ab + "=" + value;
    }

    /** Mean milliseconds of {@code steps} decode steps; each rewrites the same KV position. */
    private static double time(CpuBackend backend, KvCache kv, List<SequenceChunk> chunks, int steps) {
        long start = System.nanoTime();
        for (int i = 0; i < steps; i++) {
            backend.forwardLogits(kv, chunks);
        }
        return (System.nanoTime() - start) / 1e6 / steps;
    }
}
