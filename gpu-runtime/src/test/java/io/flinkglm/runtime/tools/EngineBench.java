package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.InferenceEngine;
import io.flinkglm.runtime.engine.SamplingParams;

import io.flinkglm.runtime.backend.Backend;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Serving benchmark over an {@link InferenceEngine}: a closed-loop sweep of concurrency levels
 * (each of {@code c} clients sends its next request when the previous one finishes) with mixed
 * prompt lengths, and a measurement of how much of a second conversation turn is served from the
 * first turn's KV. Results are plain records (and maps, for JSON) for {@code bin/glm bench}.
 *
 * <pre>{@code
 * for (EngineBench.Level l : EngineBench.sweep(backend, new int[] {1, 4, 16, 64}, EngineBench.Options.DEFAULTS)) {
 *     System.out.println(l.toMap());
 * }
 * System.out.println(EngineBench.prefixReuse(backend, 1000, 24).toMap());
 * }</pre>
 */
public final class EngineBench {
    private EngineBench() {}

    /**
     * @param requestsPerClient requests each client sends per level (after one warm-up request)
     * @param minPromptTokens   prompt lengths are uniform in [min, max], random tokens (no shared prefixes)
     * @param outputTokens      tokens generated per request (no stop tokens)
     * @param maxBatchTokens    engine token budget per step
     * @param seed              prompts and sampling seeds
     */
    public record Options(int requestsPerClient, int minPromptTokens, int maxPromptTokens, int outputTokens,
                          int maxBatchTokens, long seed) {
        public static final Options DEFAULTS = new Options(2, 32, 512, 64, 512, 42);

        public Options {
            if (requestsPerClient < 1 || minPromptTokens < 1 || maxPromptTokens < minPromptTokens
                    || outputTokens < 1 || maxBatchTokens < 1) {
                throw new IllegalArgumentException("bench options need requestsPerClient, prompt lengths (min <= max),"
                        + " outputTokens and maxBatchTokens >= 1: " + this);
            }
        }
    }

    /** One concurrency level's figures. */
    public record Level(int concurrency, int requests, long outputTokens, double seconds,
                        double decodeTokensPerS, double ttftMsP50, double ttftMsP99,
                        double tpotMsP50, double tpotMsP99, long preemptions) {
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("concurrency", concurrency);
            m.put("requests", requests);
            m.put("decode_tokens_per_s", round(decodeTokensPerS));
            m.put("ttft_ms_p50", round(ttftMsP50));
            m.put("ttft_ms_p99", round(ttftMsP99));
            m.put("tpot_ms_p50", round(tpotMsP50));
            m.put("tpot_ms_p99", round(tpotMsP99));
            m.put("output_tokens", outputTokens);
            m.put("seconds", round(seconds));
            m.put("preemptions", preemptions);
            return m;
        }
    }

    /**
     * A second turn that shares a history with the first: prompt tokens served from cache versus
     * computed, on the same engine (prefix cache) and on a fresh engine given the exported KV.
     */
    public record PrefixReuse(int historyTokens, int secondTurnPromptTokens,
                              int cachedSameEngine, int computedSameEngine, double secondTurnTtftMsSameEngine,
                              int cachedFromImport, int computedFromImport, double secondTurnTtftMsFromImport,
                              double coldTtftMs) {
        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("history_tokens", historyTokens);
            m.put("second_turn_prompt_tokens", secondTurnPromptTokens);
            m.put("same_engine_cached_prompt_tokens", cachedSameEngine);
            m.put("same_engine_computed_prompt_tokens", computedSameEngine);
            m.put("same_engine_ttft_ms", round(secondTurnTtftMsSameEngine));
            m.put("imported_kv_cached_prompt_tokens", cachedFromImport);
            m.put("imported_kv_computed_prompt_tokens", computedFromImport);
            m.put("imported_kv_ttft_ms", round(secondTurnTtftMsFromImport));
            m.put("cold_ttft_ms", round(coldTtftMs));
            return m;
        }
    }

    public static List<Level> sweep(Backend backend, int[] concurrencies) {
        return sweep(backend, concurrencies, Options.DEFAULTS);
    }

    public static List<Level> sweep(Backend backend, int[] concurrencies, Options o) {
        List<Level> levels = new ArrayList<>();
        for (int c : concurrencies) {
            if (c < 1) {
                throw new IllegalArgumentException("concurrency levels must be >= 1, got " + c);
            }
            levels.add(level(backend, c, o));
        }
        return levels;
    }

    private static Level level(Backend backend, int concurrency, Options o) {
        int vocab = backend.model().config().vocabSize();
        int blocksPerRequest = (o.maxPromptTokens() + o.outputTokens() + 15) / 16;
        try (InferenceEngine engine = InferenceEngine.builder(backend)
                .kvBlocks(concurrency * blocksPerRequest + 16)
                .maxRunningSequences(concurrency)
                .maxBatchTokens(o.maxBatchTokens())
                .build()) {
            SplittableRandom random = new SplittableRandom(o.seed() + concurrency);
            await(engine.submit(request("warmup", random, vocab, o)).result()); // JIT and first-touch outside the clock

            int total = concurrency * o.requestsPerClient();
            AtomicInteger issued = new AtomicInteger();
            ConcurrentLinkedQueue<GenerationResult> results = new ConcurrentLinkedQueue<>();
            CompletableFuture<Void> done = new CompletableFuture<>();
            List<GenerationRequest> requests = new ArrayList<>();
            for (int i = 0; i < total; i++) {
                requests.add(request("c" + concurrency + "-" + i, random, vocab, o));
            }
            long preemptionsBefore = engine.metrics().preemptions();
            long start = System.nanoTime();
            for (int client = 0; client < concurrency; client++) {
                sendNext(engine, requests, issued, results, done, total);
            }
            await(done);
            double seconds = (System.nanoTime() - start) / 1e9;

            long outputs = 0;
            long[] ttft = new long[total];
            List<Long> tpot = new ArrayList<>();
            int i = 0;
            for (GenerationResult r : results) {
                outputs += r.outputTokens().length;
                ttft[i++] = r.timings().firstTokenNanos();
                if (r.outputTokens().length > 1) {
                    tpot.add((r.timings().totalNanos() - r.timings().firstTokenNanos()) / (r.outputTokens().length - 1));
                }
            }
            long[] tpots = tpot.stream().mapToLong(Long::longValue).toArray();
            return new Level(concurrency, total, outputs, seconds, outputs / seconds,
                    percentileMs(ttft, 50), percentileMs(ttft, 99), percentileMs(tpots, 50), percentileMs(tpots, 99),
                    engine.metrics().preemptions() - preemptionsBefore);
        }
    }

    /** Sends the next request, and from its completion (on the engine thread, which only enqueues) the next. */
    private static void sendNext(InferenceEngine engine, List<GenerationRequest> requests, AtomicInteger issued,
                                 ConcurrentLinkedQueue<GenerationResult> results, CompletableFuture<Void> done,
                                 int total) {
        int i = issued.getAndIncrement();
        if (i >= total) {
            return;
        }
        engine.submit(requests.get(i)).result().whenComplete((r, e) -> {
            if (e != null) {
                done.completeExceptionally(e);
                return;
            }
            results.add(r);
            if (results.size() == total) {
                done.complete(null);
            }
            sendNext(engine, requests, issued, results, done, total);
        });
    }

    private static GenerationRequest request(String id, SplittableRandom random, int vocab, Options o) {
        int[] prompt = new int[random.nextInt(o.minPromptTokens(), o.maxPromptTokens() + 1)];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = random.nextInt(vocab);
        }
        return GenerationRequest.builder(id, prompt)
                .sampling(SamplingParams.builder().temperature(0.8).topP(0.95).seed(random.nextLong())
                        .maxTokens(o.outputTokens()).build())
                .build();
    }

    /**
     * Turn 1: {@code historyTokens} of prompt, 16 generated. Turn 2: that conversation plus
     * {@code newTokens}, run on the same engine (prefix cache) and on a fresh engine from the exported KV.
     */
    public static PrefixReuse prefixReuse(Backend backend, int historyTokens, int newTokens) {
        int vocab = backend.model().config().vocabSize();
        SplittableRandom random = new SplittableRandom(7);
        int[] history = randomTokens(random, historyTokens, vocab);
        SamplingParams params = SamplingParams.builder().temperature(0.8).seed(1).maxTokens(16).build();
        int blocks = 4 * ((historyTokens + newTokens + 64) / 16 + 1);
        try (InferenceEngine engine = InferenceEngine.builder(backend).kvBlocks(blocks).build();
             InferenceEngine fresh = InferenceEngine.builder(backend).kvBlocks(blocks).build()) {
            await(engine.submit(GenerationRequest.builder("warmup", randomTokens(random, 64, vocab)).build()).result());
            await(fresh.submit(GenerationRequest.builder("warmup", randomTokens(random, 64, vocab)).build()).result());
            GenerationResult turn1 = await(engine.submit(GenerationRequest.builder("turn1", history)
                    .sampling(params).exportKv(true).build()).result());
            int[] turn2 = concat(history, turn1.outputTokens(), randomTokens(random, newTokens, vocab));
            GenerationResult same = await(engine.submit(GenerationRequest.builder("turn2", turn2)
                    .sampling(params).build()).result());
            GenerationResult imported = await(fresh.submit(GenerationRequest.builder("turn2-import", turn2)
                    .sampling(params).importedKv(turn1.kv()).build()).result());
            return new PrefixReuse(historyTokens, turn2.length,
                    same.cachedPromptTokens(), same.computedPromptTokens(), same.timings().firstTokenNanos() / 1e6,
                    imported.cachedPromptTokens(), imported.computedPromptTokens(),
                    imported.timings().firstTokenNanos() / 1e6, turn1.timings().firstTokenNanos() / 1e6);
        }
    }

    private static int[] randomTokens(SplittableRandom random, int n, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = random.nextInt(vocab);
        }
        return t;
    }

    private static int[] concat(int[] a, int[] b, int[] c) {
        int[] out = Arrays.copyOf(a, a.length + b.length + c.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        System.arraycopy(c, 0, out, a.length + b.length, c.length);
        return out;
    }

    private static <T> T await(CompletableFuture<T> f) {
        try {
            return f.get(30, TimeUnit.MINUTES);
        } catch (Exception e) {
            throw new IllegalStateException("benchmark request failed: " + e, e);
        }
    }

    private static double percentileMs(long[] nanos, double p) {
        if (nanos.length == 0) {
            return 0;
        }
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100 * sorted.length) - 1; // nearest rank
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank))] / 1e6;
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
