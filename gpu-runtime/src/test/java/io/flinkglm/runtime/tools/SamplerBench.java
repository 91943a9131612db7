package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.engine.Sampler;
import io.flinkglm.runtime.engine.SamplingParams;

import java.util.SplittableRandom;

/**
 * Milliseconds per draw for the sampler's hardest common case: temperature 0.8 and top-p 0.95
 * over flat logits (a random model's), where the nucleus is most of the vocabulary. Not a test.
 *
 * <pre>{@code
 * cd gpu-runtime && java -cp "target/classes:target/test-classes:$(cat target/runtime-classpath.txt)" \
 *     io.flinkglm.runtime.tools.SamplerBench [vocab=32768]
 * }</pre>
 */
public final class SamplerBench {
    public static void main(String[] args) {
        int vocab = args.length > 0 ? Integer.parseInt(args[0]) : 32768;
        SplittableRandom random = new SplittableRandom(1);
        float[] logits = new float[vocab];
        for (int i = 0; i < vocab; i++) {
            logits[i] = (float) (random.nextGaussian() * 0.5);
        }
        SamplingParams params = SamplingParams.builder().temperature(0.8).topP(0.95).seed(5).maxTokens(16).build();
        int[] history = new int[16];
        long checksum = 0;
        for (int round = 0; round < 8; round++) {
            long start = System.nanoTime();
            for (int i = 0; i < 200; i++) {
                checksum += Sampler.sample(logits, params, history, i);
            }
            System.out.printf("%.3f ms per draw (vocabulary %d)%n", (System.nanoTime() - start) / 200e6, vocab);
        }
        System.out.println("token checksum " + checksum);
    }
}
