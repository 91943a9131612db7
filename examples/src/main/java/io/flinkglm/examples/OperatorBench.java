package io.flinkglm.examples;

import io.flinkglm.records.Completion;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SamplingOverrides;
import io.flinkglm.records.Task;
import io.flinkglm.operator.ChatInput;
import io.flinkglm.operator.GlmOptions;
import io.flinkglm.operator.GlmStreams;
import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.Backends;
import io.flinkglm.runtime.chat.ChatMessage;
import io.flinkglm.runtime.chat.ChatTemplate;
import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.InferenceEngine;
import io.flinkglm.runtime.engine.SamplingParams;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import org.apache.flink.annotation.Internal;

/**
 * A benchmark, not a test: the chat operator's throughput on a local MiniCluster against the engine
 * alone, on the same prompts, model and in-flight capacity, in one run. {@code operator_tokens_per_s}
 * counts the operator's busy window (first turn submitted to last answer collected, so every
 * per-turn cost of the operator: mailbox, state, emission, the exchange to the collector);
 * {@code job_tokens_per_s} adds the job's start-up, model load and shutdown.
 *
 * <pre>{@code
 * bin/demo operator-bench --model models/small --prompts 32 --max-tokens 32 --capacity 16 --rounds 3
 * }</pre>
 * Prints one JSON object: per round, tokens/s of each side and their ratio; the median ratio.
 */
@Internal
public final class OperatorBench {
    private OperatorBench() {}

    public static void main(String[] args) throws Exception {
        Path model = Path.of(option(args, "--model", "models/demo"));
        int prompts = Integer.parseInt(option(args, "--prompts", "32"));
        int maxTokens = Integer.parseInt(option(args, "--max-tokens", "32"));
        int capacity = Integer.parseInt(option(args, "--capacity", "16"));
        int rounds = Integer.parseInt(option(args, "--rounds", "3"));
        List<Prompt> inputs = new ArrayList<>();
        for (int i = 0; i < prompts; i++) {
            inputs.add(new Prompt("bench-" + i, "conv-" + i, null, "Question number " + i + ": what is stream processing?",
                    null, null, new SamplingOverrides(0.0, null, null, maxTokens, null), null, Task.CHAT));
        }
        Glm4Model glm = Glm4Model.load(model);
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(model);
        // A first pass of each side compiles the kernels and loads Flink's classes, so neither
        // measured side pays for the JIT (the first job in a JVM ran at 0.74 of the later ones).
        List<Prompt> warmUp = inputs.subList(0, Math.min(capacity, inputs.size()));
        runEngine(glm, tokenizer, warmUp, maxTokens, capacity);
        runOperator(model, warmUp, maxTokens, capacity);

        // Engine and operator alternate, so a slow minute on a shared machine hits both sides
        // of one round; the median round ratio is the figure.
        List<String> roundJson = new ArrayList<>();
        double[] ratios = new double[rounds];
        for (int round = 0; round < rounds; round++) {
            long[] engine = runEngine(glm, tokenizer, inputs, maxTokens, capacity);
            double engineRate = engine[0] / (engine[1] / 1e9);
            Measured operator = runOperator(model, inputs, maxTokens, capacity);
            ratios[round] = operator.busyRate() / engineRate;
            roundJson.add(String.format("{\"engine_tokens\": %d, \"engine_tokens_per_s\": %.2f, \"operator_tokens\": %d,"
                            + " \"operator_tokens_per_s\": %.2f, \"operator_to_engine\": %.3f, \"job_tokens_per_s\": %.2f,"
                            + " \"job_to_engine\": %.3f}", engine[0], engineRate, operator.tokens(), operator.busyRate(),
                    ratios[round], operator.jobRate(), operator.jobRate() / engineRate));
            System.err.println("operator-bench: round " + (round + 1) + " " + roundJson.get(round));
        }
        double[] sorted = ratios.clone();
        java.util.Arrays.sort(sorted);
        System.out.printf("{\"prompts\": %d, \"max_tokens\": %d, \"capacity\": %d, \"rounds\": [%s],"
                        + " \"operator_to_engine_median\": %.3f, \"operator_to_engine_min\": %.3f}%n",
                prompts, maxTokens, capacity, String.join(", ", roundJson), sorted[rounds / 2], sorted[0]);
    }

    /** Output tokens, and tokens/s over the operator's busy window and over the whole job. */
    private record Measured(long tokens, double busyRate, double jobRate) {}

    private static Measured runOperator(Path model, List<Prompt> inputs, int maxTokens, int capacity) throws Exception {
        Configuration conf = new Configuration();
        conf.set(GlmOptions.MODEL_PATH, model.toString());
        conf.set(GlmOptions.BACKEND, "cpu");
        conf.set(GlmOptions.CAPACITY, capacity);
        conf.set(GlmOptions.MAX_TOKENS, maxTokens);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        GlmStreams.Chat chat = GlmStreams.chat(env.fromData(inputs).map(ChatInput::of)
                .keyBy(ChatInput::conversationId, Types.STRING), conf);
        long start = System.nanoTime();
        long tokens = 0;
        long firstSubmit = Long.MAX_VALUE; // the operator's busy window: first turn submitted .. last answer in
        long lastAnswer = 0;
        for (Iterator<Completion> it = chat.completions().executeAndCollect(); it.hasNext(); ) {
            Completion c = it.next();
            long now = System.nanoTime();
            tokens += c.completionTokens();
            firstSubmit = Math.min(firstSubmit, now - c.totalMs() * 1_000_000);
            lastAnswer = now;
        }
        double jobSeconds = (System.nanoTime() - start) / 1e9;
        return new Measured(tokens, tokens / ((lastAnswer - firstSubmit) / 1e9), tokens / jobSeconds);
    }

    /** Runs the prompts through an engine of their own, at most {@code capacity} in flight: {tokens, nanos}. */
    private static long[] runEngine(Glm4Model glm, Glm4Tokenizer tokenizer, List<Prompt> inputs, int maxTokens,
                                    int capacity) throws Exception {
        try (Backend backend = Backends.create("cpu", glm);
             InferenceEngine engine = InferenceEngine.builder(backend).kvBytes(256L << 20).build()) {
            List<CompletableFuture<GenerationResult>> results = new ArrayList<>();
            Semaphore slots = new Semaphore(capacity);
            long start = System.nanoTime();
            for (Prompt p : inputs) {
                slots.acquire();
                int[] tokens = ChatTemplate.encode(tokenizer, List.of(ChatMessage.user(p.text())), true);
                CompletableFuture<GenerationResult> r = engine.submit(GenerationRequest.builder(p.requestId(), tokens)
                        .sampling(SamplingParams.builder().maxTokens(maxTokens).build()).build()).result();
                r.whenComplete((x, e) -> slots.release());
                results.add(r);
            }
            long tokens = 0;
            for (CompletableFuture<GenerationResult> r : results) {
                tokens += r.get().outputTokens().length;
            }
            return new long[] {tokens, System.nanoTime() - start};
        }
    }

    private static String option(String[] args, String name, String fallback) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        return fallback;
    }
}
