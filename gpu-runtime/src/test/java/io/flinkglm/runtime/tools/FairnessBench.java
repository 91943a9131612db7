package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.Backends;
import io.flinkglm.runtime.engine.Fairness;
import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.InferenceEngine;
import io.flinkglm.runtime.engine.SamplingParams;
import io.flinkglm.runtime.model.Glm4Model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * Fair sharing as a user sees it: an interactive tenant that sends one short prompt at a time (the next when
 * the previous has finished) beside a bulk tenant that queues many long ones. Four runs: interactive alone,
 * bulk alone, and both together under {@link Fairness#FCFS} and {@link Fairness#FAIR}. Prints the interactive
 * TTFT p50/p99 in ms and in engine steps and the bulk tenant's throughput (prompt + output tokens per second
 * over the span from its first submission to its last result, and per engine step over that span: on a shared
 * machine the seconds are noisy, the steps are not). A benchmark, not a test.
 *
 * <pre>{@code
 * java -cp gpu-runtime/target/classes:gpu-runtime/target/test-classes:$DEPS io.flinkglm.runtime.tools.FairnessBench \
 *     /tmp/small-bf16 [bulkRequests=24] [bulkPromptTokens=96] [bulkOutputTokens=16] [maxRunning=8] [maxBatchTokens=256]
 * }</pre>
 */
public final class FairnessBench {
    private static final int CHAT_PROMPT_TOKENS = 16;
    private static final int CHAT_OUTPUT_TOKENS = 4;
    private static final int CHAT_ALONE_REQUESTS = 8;

    private FairnessBench() {}

    /** One run's figures; chat or bulk figures are NaN when that tenant did not take part. */
    record Run(String name, int chatRequests, double ttftMsP50, double ttftMsP99, double ttftStepsP50,
               double ttftStepsP99, double bulkTokensPerS, double bulkSeconds, double bulkTokensPerStep,
               long preemptions) {
        @Override
        public String toString() {
            return String.format("%-12s chat n=%-3d ttft p50 %8.1f ms p99 %8.1f ms | p50 %5.1f steps p99 %5.1f steps"
                    + " | bulk %7.1f tok/s over %6.1f s, %5.1f tok/step | preemptions %d", name, chatRequests, ttftMsP50,
                    ttftMsP99, ttftStepsP50, ttftStepsP99, bulkTokensPerS, bulkSeconds, bulkTokensPerStep, preemptions);
        }
    }

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        int bulkRequests = args.length > 1 ? Integer.parseInt(args[1]) : 24;
        int bulkPrompt = args.length > 2 ? Integer.parseInt(args[2]) : 96;
        int bulkOutput = args.length > 3 ? Integer.parseInt(args[3]) : 16;
        int maxRunning = args.length > 4 ? Integer.parseInt(args[4]) : 8;
        int maxBatchTokens = args.length > 5 ? Integer.parseInt(args[5]) : 256;
        try (Backend backend = Backends.create("auto", Glm4Model.load(model))) {
            int vocab = backend.model().config().vocabSize();
            Workload w = new Workload(backend, vocab, bulkPrompt, bulkOutput, maxRunning, maxBatchTokens);
            System.out.printf("model %s, bulk %d x (%d prompt + %d output), chat %d prompt + %d output, "
                            + "maxRunning %d, maxBatchTokens %d%n", model, bulkRequests, bulkPrompt, bulkOutput,
                    CHAT_PROMPT_TOKENS, CHAT_OUTPUT_TOKENS, maxRunning, maxBatchTokens);
            w.run("warm-up", Fairness.FAIR, Math.min(4, bulkRequests), true); // JIT; figures discarded
            List<Run> runs = List.of(
                    w.run("chat alone", Fairness.FAIR, 0, true),
                    w.run("bulk alone", Fairness.FAIR, bulkRequests, false),
                    w.run("mixed FCFS", Fairness.FCFS, bulkRequests, true),
                    w.run("mixed FAIR", Fairness.FAIR, bulkRequests, true));
            runs.forEach(System.out::println);
            Run fcfs = runs.get(2);
            Run fair = runs.get(3);
            System.out.printf("FAIR vs FCFS: bulk throughput %.1f%% per second, %.1f%% per step; interactive TTFT p99 %.1f ms -> %.1f ms (%.1f -> %.1f steps)%n",
                    100 * fair.bulkTokensPerS() / fcfs.bulkTokensPerS(),
                    100 * fair.bulkTokensPerStep() / fcfs.bulkTokensPerStep(), fcfs.ttftMsP99(), fair.ttftMsP99(),
                    fcfs.ttftStepsP99(), fair.ttftStepsP99());
        }
    }

    private record Workload(Backend backend, int vocab, int bulkPrompt, int bulkOutput, int maxRunning,
                            int maxBatchTokens) {

        /** With bulk, the chat tenant sends until the bulk has finished; alone, {@value #CHAT_ALONE_REQUESTS} prompts. */
        Run run(String name, Fairness fairness, int bulkRequests, boolean chat) throws Exception {
            try (InferenceEngine engine = InferenceEngine.builder(backend).kvBytes(1L << 30).maxRunningSequences(maxRunning)
                    .maxBatchTokens(maxBatchTokens).fairness(fairness).build()) {
                SplittableRandom rnd = new SplittableRandom(name.hashCode());
                long start = System.nanoTime();
                List<CompletableFuture<GenerationResult>> bulk = new ArrayList<>();
                for (int i = 0; i < bulkRequests; i++) {
                    bulk.add(engine.submit(GenerationRequest.builder("bulk-" + i, tokens(rnd, bulkPrompt))
                            .sampling(SamplingParams.builder().temperature(0.8).seed(i).maxTokens(bulkOutput).build())
                            .tenant("bulk").build()).result());
                }
                CompletableFuture<Void> allBulk = CompletableFuture.allOf(bulk.toArray(CompletableFuture[]::new));
                long[] bulkEnd = new long[2]; // nanos, engine steps (as of the step before the one that finished it)
                CompletableFuture<Void> bulkTimed = allBulk.thenRun(() -> {
                    bulkEnd[0] = System.nanoTime();
                    bulkEnd[1] = engine.metrics().steps() + 1;
                });
                List<GenerationResult> chats = Collections.synchronizedList(new ArrayList<>());
                if (chat) {
                    CompletableFuture<Void> chatDone = new CompletableFuture<>();
                    BooleanSupplier more = bulkRequests == 0 ? () -> chats.size() < CHAT_ALONE_REQUESTS : () -> !allBulk.isDone();
                    sendChat(engine, rnd, 0, more, chats, chatDone);
                    chatDone.get(30, TimeUnit.MINUTES);
                }
                bulkTimed.get(30, TimeUnit.MINUTES);
                long bulkTokens = 0;
                for (CompletableFuture<GenerationResult> f : bulk) {
                    GenerationResult r = f.get();
                    bulkTokens += r.promptTokens() + r.outputTokens().length;
                }
                double bulkSeconds = bulkRequests == 0 ? Double.NaN : (bulkEnd[0] - start) / 1e9;
                double[] ms = chats.stream().mapToDouble(r -> r.timings().firstTokenNanos() / 1e6).sorted().toArray();
                double[] steps = chats.stream().mapToDouble(r -> r.timings().firstTokenSteps()).sorted().toArray();
                return new Run(name, chats.size(), percentile(ms, 50), percentile(ms, 99), percentile(steps, 50),
                        percentile(steps, 99), bulkRequests == 0 ? Double.NaN : bulkTokens / bulkSeconds, bulkSeconds,
                        bulkRequests == 0 ? Double.NaN : (double) bulkTokens / bulkEnd[1],
                        engine.metricsBetweenSteps().get(1, TimeUnit.MINUTES).preemptions());
            }
        }

        private void sendChat(InferenceEngine engine, SplittableRandom rnd, int i, BooleanSupplier more,
                              List<GenerationResult> results, CompletableFuture<Void> done) {
            int[] prompt;
            synchronized (rnd) {
                prompt = tokens(rnd, CHAT_PROMPT_TOKENS);
            }
            engine.submit(GenerationRequest.builder("chat-" + i, prompt)
                    .sampling(SamplingParams.builder().temperature(0.8).seed(1000 + i).maxTokens(CHAT_OUTPUT_TOKENS).build())
                    .tenant("chat").build()).result().whenComplete((r, failure) -> {
                        if (failure != null) {
                            done.completeExceptionally(failure);
                            return;
                        }
                        results.add(r);
                        if (more.getAsBoolean()) {
                            sendChat(engine, rnd, i + 1, more, results, done);
                        } else {
                            done.complete(null);
                        }
                    });
        }

        private int[] tokens(SplittableRandom rnd, int n) {
            // Random ids above the first 1,000 (clear of special tokens); unique prompts, so no prefix sharing.
            return rnd.ints(n, 1000, vocab).toArray();
        }
    }

    /** Nearest-rank percentile of sorted values; NaN for none. */
    private static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank))];
    }
}
