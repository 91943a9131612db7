package io.flinkglm.runtime.backend.cpu;

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
 * <pre>{@code
 * java --add-modules jdk.incubator.vector -cp "target/classes:target/test-classes:$(cat target/runtime-classpath.txt)" \
 *     io.flinkglm.runtime.backend.cpu.DecodeStepBench /tmp/small-bf16 [rounds] [context]
 * }</pre>
 */
public final class DecodeStepBench {
    private static final int BATCH = 16;
    private static final int BLOCK = 16;

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int context = args.length > 2 ? Integer.parseInt(args[2]) : 64;
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
            backend.forward(kv, prefill);
            List<SequenceChunk> one = decode.subList(0, 1);
            double[] ms1 = new double[rounds];
            double[] ms16 = new double[rounds];
            for (int r = 0; r < rounds; r++) {
                ms1[r] = time(backend, kv, one, 4);
                ms16[r] = time(backend, kv, decode, 1);
                System.out.printf("round %d: 1 seq %.1f ms, %d seqs %.1f ms, ratio %.2f%n",
                        r, ms1[r], BATCH, ms16[r], BATCH * ms1[r] / ms16[r]);
            }
            double best1 = Arrays.stream(ms1).skip(1).min().orElseThrow();
            double best16 = Arrays.stream(ms16).skip(1).min().orElseThrow();
            System.out.printf("best: 1 seq %.1f ms, %d seqs %.1f ms, throughput ratio %.2f%n",
                    best1, BATCH, best16, BATCH * best1 / best16);
        }
    }

    /** Mean milliseconds of {@code steps} decode steps; each rewrites the same KV position. */
    private static double time(CpuBackend backend, KvCache kv, List<SequenceChunk> chunks, int steps) {
        long start = System.nanoTime();
        for (int i = 0; i < steps; i++) {
            backend.forward(kv, chunks);
        }
        return (System.nanoTime() - start) / 1e6 / steps;
    }
}
