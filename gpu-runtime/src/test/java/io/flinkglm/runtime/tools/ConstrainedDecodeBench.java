package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.Backends;
import io.flinkglm.runtime.constraint.Constraint;
import io.flinkglm.runtime.constraint.TokenTrie;
import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.InferenceEngine;
import io.flinkglm.runtime.engine.RequestHandle;
import io.flinkglm.runtime.engine.SamplingParams;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Decode throughput with a nested JSON schema against unconstrained, at 1 and 16 concurrent
 * sequences in one run, plus the schema's compile time, the mask cost per token (p50/p99: the
 * cached mask lookup and applying it to a row of logits, as the sampler does) and, when the real
 * GLM-4 vocabulary is at hand, the trie build and cold mask build over its 151k tokens.
 *
 * <pre>{@code
 * java ... io.flinkglm.runtime.tools.ConstrainedDecodeBench /tmp/small-bf16 [backend] [/work/shared/glm4/tokenizer.model]
 * }</pre>
 */
public final class ConstrainedDecodeBench {
    static final String SCHEMA = "{\"type\":\"object\",\"properties\":{"
            + "\"ticket\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
            + "\"category\":{\"enum\":[\"bug\",\"feature\",\"question\"]},\"summary\":{\"type\":\"string\",\"maxLength\":40}},"
            + "\"required\":[\"id\",\"category\",\"summary\"],\"additionalProperties\":false},"
            + "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"maxLength\":12},\"maxItems\":4},"
            + "\"urgent\":{\"type\":\"boolean\"}},\"required\":[\"ticket\",\"urgent\"],\"additionalProperties\":false}";

    private ConstrainedDecodeBench() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args.length > 0 ? args[0] : "/tmp/small-bf16");
        String backendName = args.length > 1 ? args[1] : "cpu";
        Path realVocab = Path.of(args.length > 2 ? args[2] : "/work/shared/glm4/tokenizer.model");
        Glm4Model model = Glm4Model.load(dir);
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(dir);

        long t0 = System.nanoTime();
        Constraint schema = Constraint.jsonSchema(SCHEMA);
        System.out.printf("schema compile: %.2f ms (first; later ones hit the cache)%n", (System.nanoTime() - t0) / 1e6);

        int maxTokens = 64;
        try (Backend backend = Backends.create(backendName, model);
             InferenceEngine engine = InferenceEngine.builder(backend).kvBlocks(2048).tokenizer(tokenizer).build()) {
            run(engine, tokenizer, null, 1, maxTokens); // warm-up
            run(engine, tokenizer, schema, 1, maxTokens);
            for (int concurrency : new int[]{1, 16}) {
                double free = run(engine, tokenizer, null, concurrency, maxTokens);
                double constrained = run(engine, tokenizer, schema, concurrency, maxTokens);
                System.out.printf("concurrency %2d: unconstrained %.1f tok/s, schema %.1f tok/s (%.0f%%)%n",
                        concurrency, free, constrained, 100 * constrained / free);
            }
            maskCost(schema, tokenizer, model.config().vocabSize());
        }
        if (Files.exists(realVocab)) {
            Glm4Tokenizer real = Glm4Tokenizer.load(realVocab);
            long t = System.nanoTime();
            TokenTrie trie = TokenTrie.of(real, 151_552);
            System.out.printf("GLM-4 vocabulary (%d tokens): trie build %.0f ms%n", real.vocabSize(),
                    (System.nanoTime() - t) / 1e6);
            Constraint c = Constraint.jsonSchema(SCHEMA.replace("40", "41")); // a fresh automaton: cold masks
            byte[] prefix = "{\"ticket\":{\"id\":12,\"category\":\"bug\",\"summary\":\"ab".getBytes();
            int state = c.startState();
            double coldTotal = 0;
            double coldMax = 0;
            for (byte b : prefix) {
                long s = System.nanoTime();
                c.allowedTokens(state, trie);
                double ms = (System.nanoTime() - s) / 1e6;
                coldTotal += ms;
                coldMax = Math.max(coldMax, ms);
                state = c.advance(state, new byte[]{b});
            }
            long s = System.nanoTime();
            c.allowedTokens(state, trie);
            double inString = (System.nanoTime() - s) / 1e6;
            System.out.printf("GLM-4 cold masks along %d bytes of output: mean %.2f ms, max %.2f ms; inside a string %.2f ms%n",
                    prefix.length, coldTotal / prefix.length, coldMax, inString);
        } else {
            System.out.println("GLM-4 vocabulary not found at " + realVocab + "; skipped");
        }
    }

    /** Output tokens per second of 4 rounds of {@code concurrency} requests. */
    private static double run(InferenceEngine engine, Glm4Tokenizer tokenizer, Constraint c, int concurrency,
                              int maxTokens) throws Exception {
        long tokens = 0;
        long start = System.nanoTime();
        for (int round = 0; round < 4; round++) {
            List<RequestHandle> handles = new ArrayList<>();
            for (int i = 0; i < concurrency; i++) {
                int[] prompt = tokenizer.encode("ticket " + round + "/" + i + ": the printer is on fire");
                handles.add(engine.submit(GenerationRequest.builder("b" + round + "-" + i, prompt).constraint(c)
                        .sampling(SamplingParams.builder().temperature(0.8).seed(round * 100L + i).maxTokens(maxTokens)
                                .stopTokenIds(Arrays.stream(tokenizer.stopIds()).boxed().toList()).build()).build()));
            }
            for (RequestHandle h : handles) {
                GenerationResult r = h.result().get();
                tokens += r.outputTokens().length;
            }
        }
        return tokens / ((System.nanoTime() - start) / 1e9);
    }

    /** Per token: the cached mask lookup plus setting disallowed logits to -inf over the vocabulary. */
    private static void maskCost(Constraint c, Glm4Tokenizer tokenizer, int vocab) {
        TokenTrie trie = TokenTrie.of(tokenizer, vocab);
        byte[] output = "{\"ticket\":{\"id\":1234,\"category\":\"question\",\"summary\":\"printer on fire\"},\"tags\":[\"hw\",\"urgent\"],\"urgent\":true}".getBytes();
        float[] logits = new float[vocab];
        List<Double> micros = new ArrayList<>();
        for (int pass = 0; pass < 20; pass++) {
            int state = c.startState();
            for (byte b : output) {
                long s = System.nanoTime();
                long[] allowed = c.allowedTokens(state, trie);
                for (int i = 0; i < vocab; i++) {
                    if ((allowed[i >>> 6] & (1L << i)) == 0) {
                        logits[i] = Float.NEGATIVE_INFINITY;
                    }
                }
                if (pass > 0) {
                    micros.add((System.nanoTime() - s) / 1e3);
                }
                state = c.advance(state, new byte[]{b});
            }
        }
        micros.sort(Double::compare);
        System.out.printf("mask per token (vocab %d, warm): p50 %.1f us, p99 %.1f us%n", vocab,
                micros.get(micros.size() / 2), micros.get(micros.size() * 99 / 100));
    }
}
