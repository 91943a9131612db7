package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.backend.HostSampler;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.RowSampling;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.backend.cpu.CpuBackend;
import io.flinkglm.runtime.engine.Sampler;
import io.flinkglm.runtime.engine.SamplingParams;
import io.flinkglm.runtime.model.Glm4Model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Host time per decode step spent sampling, at 1 and 16 sequences (temperature 0.8, top-p 0.95):
 * the CPU backend's {@code forwardLogits} alone, its {@code step} (the same forward plus the
 * host draw), and the host draw alone on the step's logits ({@link HostSampler#sampleRows}, the
 * arithmetic the engine's {@code ModelRunner} ran itself before the backend sampled). The figure
 * a device draw removes is the last one. Rounds alternate, best of each reported. Not a test.
 *
 * <pre>{@code
 * mvn -o -q -pl gpu-runtime test-compile dependency:build-classpath -DincludeScope=runtime \
 *     -Dmdep.outputFile=target/runtime-classpath.txt
 * cd gpu-runtime && java --add-modules jdk.incubator.vector \
 *     -cp "target/classes:target/test-classes:$(cat target/runtime-classpath.txt)" \
 *     io.flinkglm.runtime.tools.StepSamplingBench /tmp/small-bf16 [rounds=6] [context=64]
 * }</pre>
 */
public final class StepSamplingBench {
    private static final int[] BATCHES = {1, 16};
    private static final int BLOCK = 16;

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 6;
        int context = args.length > 2 ? Integer.parseInt(args[2]) : 64;
        int most = BATCHES[BATCHES.length - 1];

        try (CpuBackend backend = new CpuBackend(Glm4Model.load(dir))) {
            int blocksPerSeq = (context + 1 + BLOCK - 1) / BLOCK;
            try (KvCache kv = backend.newKvCache(most * blocksPerSeq, BLOCK)) {
                List<SequenceChunk> prefill = new ArrayList<>();
                List<SequenceChunk> decode = new ArrayList<>();
                List<RowSampling> rows = new ArrayList<>();
                for (int s = 0; s < most; s++) {
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
                    SamplingParams params = SamplingParams.builder().temperature(0.8).topP(0.95).seed(100 + s).build();
                    rows.add(Sampler.row(s, params, prompt, context + 1, null, false));
                }
                backend.forwardLogits(kv, prefill);

                double[][] best = new double[BATCHES.length][3]; // forward, step, host draw alone
                for (double[] b : best) {
                    Arrays.fill(b, Double.MAX_VALUE);
                }
                for (int r = 0; r < rounds; r++) {
                    for (int i = 0; i < BATCHES.length; i++) {
                        int n = BATCHES[i];
                        List<SequenceChunk> chunks = decode.subList(0, n);
                        List<RowSampling> named = rows.subList(0, n);
                        long t0 = System.nanoTime();
                        float[][][] logits = backend.forwardLogits(kv, chunks);
                        long t1 = System.nanoTime();
                        backend.step(kv, chunks, named);
                        long t2 = System.nanoTime();
                        HostSampler.sampleRows(backend.model(), logits, named);
                        long t3 = System.nanoTime();
                        double[] ms = {(t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6};
                        System.out.printf("round %d, %2d seqs: forwardLogits %.1f ms, step %.1f ms, host draw %.2f ms%n",
                                r, n, ms[0], ms[1], ms[2]);
                        if (r > 0) { // the first round warms up
                            for (int k = 0; k < 3; k++) {
                                best[i][k] = Math.min(best[i][k], ms[k]);
                            }
                        }
                    }
                }
                for (int i = 0; i < BATCHES.length; i++) {
                    System.out.printf("best, %2d seqs: forwardLogits %.1f ms, step %.1f ms, host draw %.2f ms (%.0f%% of step)%n",
                            BATCHES[i], best[i][0], best[i][1], best[i][2], 100 * best[i][2] / best[i][1]);
                }
            }
        }
    }
}
