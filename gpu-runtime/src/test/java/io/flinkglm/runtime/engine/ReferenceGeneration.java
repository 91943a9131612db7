package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.SequenceChunk;

import java.util.Arrays;
import java.util.List;

/**
 * The truth engine tests compare against: one sequence, whole prompt in one forward call, then one
 * decode call per token, no scheduler, no block sharing. Ignores stop tokens (tests use none).
 */
final class ReferenceGeneration {
    private ReferenceGeneration() {}

    static int[] generate(Backend backend, int[] prompt, SamplingParams p) {
        int total = prompt.length + p.maxTokens();
        int blockSize = 16;
        int[] table = new int[(total + blockSize - 1) / blockSize];
        for (int i = 0; i < table.length; i++) {
            table[i] = i;
        }
        try (KvCache kv = backend.newKvCache(table.length, blockSize)) {
            int[] tokens = Arrays.copyOf(prompt, total);
            float[] logits = backend.forwardLogits(kv, List.of(new SequenceChunk(prompt, 0, table, false)))[0][0];
            for (int n = prompt.length; n < total; n++) {
                tokens[n] = Sampler.sample(logits, p, Arrays.copyOf(tokens, n), n);
                if (n + 1 < total) {
                    logits = backend.forwardLogits(kv, List.of(
                            new SequenceChunk(new int[] {tokens[n]}, n, table, false)))[0][0];
                }
            }
            return Arrays.copyOfRange(tokens, prompt.length, total);
        }
    }

    /** The next-token logits after the whole prompt. */
    static float[] lastLogits(Backend backend, int[] prompt) {
        int blockSize = 16;
        int[] table = new int[(prompt.length + blockSize - 1) / blockSize];
        for (int i = 0; i < table.length; i++) {
            table[i] = i;
        }
        try (KvCache kv = backend.newKvCache(table.length, blockSize)) {
            return backend.forwardLogits(kv, List.of(new SequenceChunk(prompt, 0, table, false)))[0][0];
        }
    }

    /** A deterministic pseudo-random prompt. */
    static int[] prompt(long seed, int length, int vocab) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        int[] t = new int[length];
        for (int i = 0; i < length; i++) {
            t[i] = r.nextInt(vocab);
        }
        return t;
    }

    static int[] concat(int[]... parts) {
        int n = 0;
        for (int[] p : parts) {
            n += p.length;
        }
        int[] out = new int[n];
        int at = 0;
        for (int[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
