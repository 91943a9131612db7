package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.Backends;
import io.flinkglm.runtime.chat.ChatMessage;
import io.flinkglm.runtime.chat.ChatTemplate;
import io.flinkglm.runtime.engine.EngineMetrics;
import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.InferenceEngine;
import io.flinkglm.runtime.engine.RequestHandle;
import io.flinkglm.runtime.engine.SamplingParams;
import io.flinkglm.runtime.engine.StreamingCheck;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.safety.SafetyClassifier;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What moderation while generating costs ({@code glm.moderation.mode} STREAMING): N sequences generate T
 * tokens each (greedy, no stop token, so every run does the same work), alternately without checks and with a
 * {@link SafetyClassifier#streamingCheck} every {@code interval} tokens (its flag test never stops them, so both
 * runs generate everything). Prints per run the mean time per output token of the generating sequences, the
 * engine steps and their mean tokens (machine independent: checks add prefill tokens to steps, not steps), and
 * for the checked runs the prompt tokens the checks computed ÷ completion tokens, the most any check but a
 * request's first computed, and whether the tokens equal the unchecked run's. Before a checked run one short
 * checked request puts the policy's blocks in the prefix cache (the steady state of a stream; its check is not
 * counted). All sequences reach each interval in the same step: the worst case for that step. A benchmark, not
 * a test.
 *
 * <pre>{@code
 * java ... io.flinkglm.runtime.tools.StreamingModerationBench /tmp/small-bf16 [sequences=8] [tokens=96] [interval=32] [rounds=2]
 * }</pre>
 */
public final class StreamingModerationBench {
    private static final String[] PROMPTS = {
        "Summarise the plot of a heist film in three sentences.",
        "How do I reset a forgotten router password?",
        "Write a limerick about a cat who learns to code.",
        "What should I pack for a week of hiking in the Alps?",
        "Explain why the sky is blue to a seven-year-old.",
        "Draft a polite email declining a meeting invitation.",
        "List three ways to reduce food waste at home.",
        "Describe the rules of chess for a beginner.",
    };

    private StreamingModerationBench() {}

    public static void main(String[] args) throws Exception {
        Path modelDir = Path.of(args.length > 0 ? args[0] : "/tmp/small-bf16");
        int sequences = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int tokens = args.length > 2 ? Integer.parseInt(args[2]) : 96;
        int interval = args.length > 3 ? Integer.parseInt(args[3]) : 32;
        int rounds = args.length > 4 ? Integer.parseInt(args[4]) : 2;
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(modelDir);
        try (Backend backend = Backends.create("auto", Glm4Model.load(modelDir))) {
            System.out.printf(Locale.ROOT, "model %s, %d sequences x %d tokens, interval %d, load average %.1f at start%n",
                    modelDir, sequences, tokens, interval, load());
            run(backend, tokenizer, Math.min(sequences, 2), Math.min(tokens, 16), interval, false, null); // JIT warm-up
            for (int round = 0; round < rounds; round++) {
                int[][] plain = run(backend, tokenizer, sequences, tokens, interval, false, null);
                run(backend, tokenizer, sequences, tokens, interval, true, plain);
            }
            System.out.printf(Locale.ROOT, "load average %.1f at end%n", load());
        }
    }

    private static int[][] run(Backend backend, Glm4Tokenizer tokenizer, int sequences, int tokens, int interval,
                               boolean checked, int[][] reference) throws Exception {
        try (InferenceEngine engine = InferenceEngine.builder(backend).kvBlocks(4096).build()) {
            SafetyClassifier classifier = new SafetyClassifier(engine, tokenizer, SafetyBench.policyFor(tokenizer));
            SamplingParams sampling = SamplingParams.builder().maxTokens(tokens).build();
            if (checked) { // steady state: the policy's blocks are in the prefix cache, as after a stream's first turn
                int[] warm = ChatTemplate.encode(tokenizer, List.of(ChatMessage.user("warm-up")), true);
                engine.submit(GenerationRequest.builder("warm-up", warm).sampling(SamplingParams.builder().maxTokens(1).build())
                        .streamingCheck(classifier.streamingCheck("warm-up", interval)).build()).result().join();
            }
            EngineMetrics before = engine.metrics();
            List<RequestHandle> handles = new ArrayList<>();
            long start = System.nanoTime();
            for (int i = 0; i < sequences; i++) {
                String prompt = "(" + i + ") " + PROMPTS[i % PROMPTS.length];
                int[] promptTokens = ChatTemplate.encode(tokenizer, List.of(ChatMessage.user(prompt)), true);
                GenerationRequest.Builder r = GenerationRequest.builder("s" + i, promptTokens).sampling(sampling);
                if (checked) {
                    StreamingCheck c = classifier.streamingCheck(prompt, interval);
                    r.streamingCheck(new StreamingCheck(c.interval(), c.prefixTokens(), c.suffixTokens(),
                            c.labelTokenIds(), c.padTokenId(), p -> false)); // never stop: same work as unchecked
                }
                handles.add(engine.submit(r.build()));
            }
            int[][] outputs = new int[sequences][];
            double tpotSum = 0;
            long completionTokens = 0;
            for (int i = 0; i < sequences; i++) {
                GenerationResult result = handles.get(i).result().join();
                outputs[i] = result.outputTokens();
                completionTokens += outputs[i].length;
                GenerationResult.Timings t = result.timings();
                tpotSum += (t.totalNanos() - t.firstTokenNanos()) / 1e6 / Math.max(1, outputs[i].length - 1);
            }
            double wall = (System.nanoTime() - start) / 1e9;
            EngineMetrics m = engine.metrics();
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
                    "%-9s TPOT mean %.1f ms, wall %.1f s, %d completion tokens, %d engine steps of %.1f tokens on average",
                    checked ? "checked" : "unchecked", tpotSum / sequences, wall, completionTokens,
                    m.steps() - before.steps(), meanStepTokens(before, m)));
            if (checked) {
                line.append(String.format(Locale.ROOT,
                        ", %d checks computing %d prompt tokens = %.3f per completion token, at most %d per later check,"
                                + " tokens identical to unchecked: %s",
                        m.streamingChecks() - before.streamingChecks(),
                        m.checkPromptTokensComputed() - before.checkPromptTokensComputed(),
                        (double) (m.checkPromptTokensComputed() - before.checkPromptTokensComputed()) / completionTokens,
                        m.laterCheckPromptTokensMax(),
                        reference == null ? "-" : Arrays.deepEquals(outputs, reference)));
            }
            System.out.println(line);
            return outputs;
        }
    }

    /** Mean tokens per step between two snapshots, from the window mean (the runs are shorter than the window). */
    private static double meanStepTokens(EngineMetrics before, EngineMetrics after) {
        long steps = after.steps() - before.steps();
        return steps == 0 ? 0 : (after.meanBatchTokens() * after.steps() - before.meanBatchTokens() * before.steps()) / steps;
    }

    private static double load() {
        return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }
}
