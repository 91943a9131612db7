package io.flinkglm.operator;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.Backends;
import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.SamplingParams;
import io.flinkglm.runtime.model.Glm4Model;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;

/**
 * Benchmark, not a test: what a task restarted on the same TaskManager waits for before its model is
 * ready, and how fast it then decodes. Per round: the checkpoint read into the heap ({@code Glm4Model.load},
 * from the page cache after the first round), the CPU backend built over it (panel layout and probe
 * forward), a {@link GlmWorker} leased on a cold JVM registry (both of those, and the tokenizer), and
 * the lease a restarted task takes after the previous one closed (the model kept idle in the registry).
 * Decode tok/s is measured after each kind of lease, to show the kept model decodes as fast.
 *
 * <pre>{@code
 * bin/glm make-model --out /tmp/small-bf16 --preset small --dtype bf16
 * mvn -q -pl flink-glm-operator -am test-compile dependency:build-classpath -DskipTests \
 *     -Dmdep.includeScope=test -Dmdep.outputFile=/tmp/cp.txt
 * java --add-modules jdk.incubator.vector -Xmx4g \
 *     -cp flink-glm-operator/target/test-classes:flink-glm-operator/target/classes:$(cat /tmp/cp.txt) \
 *     io.flinkglm.operator.ModelReloadBench /tmp/small-bf16 3
 * # a GLM-4-9B-shaped checkpoint: one round, 8 decode tokens, leases only, a heap for one copy
 * java ... -Xmx21g ... io.flinkglm.operator.ModelReloadBench /work/models/9b-bf16 1 8 leases-only
 * }</pre>
 */
public final class ModelReloadBench {
    private static final int DECODE_TOKENS = 48;

    /** Tokens generated per decode measurement: {@value #DECODE_TOKENS}, fewer for a 9B-shaped model on a CPU. */
    private static int decodeTokens = DECODE_TOKENS;

    private ModelReloadBench() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        decodeTokens = args.length > 2 ? Integer.parseInt(args[2]) : DECODE_TOKENS;
        // "leases-only" skips the separate read and layout, which a heap holding one copy of a large model
        // cannot afford next to the cold lease's own.
        boolean separateRead = args.length <= 3 || !args[3].equals("leases-only");
        Configuration config = new Configuration();
        config.set(GlmOptions.MODEL_PATH, dir.toString());
        config.set(GlmOptions.BACKEND, "cpu");
        config.set(GlmOptions.KV_CACHE_BYTES, 64L << 20);
        System.out.println("round, read ms, lay out + probe ms, cold lease ms, decode tok/s, restart lease ms,"
                + " decode tok/s");
        for (int r = 1; r <= rounds; r++) {
            long t0 = System.nanoTime();
            long t1 = t0;
            if (separateRead) {
                Glm4Model model = Glm4Model.load(dir);
                t1 = System.nanoTime();
                Backends.create("cpu", model).close();
                // the model goes out of scope: only one copy of the weights in the heap at a time from here
            }
            long t2 = System.nanoTime();

            double cold;
            double coldDecode;
            try (GlmWorker first = GlmWorker.acquire(config, "chat-0")) {
                cold = ms(t2, System.nanoTime());
                coldDecode = decode(first);
            }
            long t3 = System.nanoTime();
            double restart;
            double restartDecode;
            try (GlmWorker restarted = GlmWorker.acquire(config, "chat-0")) {
                restart = ms(t3, System.nanoTime());
                restartDecode = decode(restarted);
            }
            GlmWorker.forgetIdle(config); // the next round's cold lease reads the checkpoint again
            System.out.printf("%d, %.0f, %.0f, %.0f, %.1f, %.1f, %.1f%n", r, ms(t0, t1), ms(t1, t2), cold, coldDecode,
                    restart, restartDecode);
        }
    }

    /** Tokens per second generating {@link #decodeTokens} tokens greedily after a 4-token prompt (the random model has no EOS). */
    private static double decode(GlmWorker worker) throws Exception {
        SamplingParams greedy = SamplingParams.builder().temperature(0).maxTokens(decodeTokens).build();
        long t = System.nanoTime();
        GenerationResult result = worker.engine().submit(GenerationRequest.builder("bench", new int[] {5, 6, 7, 8})
                .sampling(greedy).build()).result().get(5, TimeUnit.MINUTES);
        return result.outputTokens().length / ((System.nanoTime() - t) / 1e9);
    }

    private static double ms(long from, long to) {
        return (to - from) / 1e6;
    }
}
