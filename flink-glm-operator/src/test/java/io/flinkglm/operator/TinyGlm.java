package io.flinkglm.operator;

import io.flinkglm.records.Prompt;
import io.flinkglm.records.SamplingOverrides;
import io.flinkglm.records.Task;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.testkit.TinyModel;
import org.apache.flink.configuration.Configuration;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The test kit's {@link TinyModel} as operator settings, and the chat inputs the ITCases send it: the model is
 * deterministic under greedy sampling, so a job's answers can be checked token for token against the engine
 * alone ({@link ReferenceChat}).
 */
final class TinyGlm {
    static final int MAX_TOKENS = 6;

    private TinyGlm() {}

    /** Writes the checkpoint (BF16, as a served model) and its tokenizer into {@code dir}; returns {@link #config}. */
    static Configuration write(Path dir, long seed) {
        try {
            TinyModel.write(dir, DType.BF16, seed);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return config(dir);
    }

    /** The operator settings for the tiny model in {@code dir}: the CPU backend, short answers, a small KV cache. */
    static Configuration config(Path dir) {
        Configuration config = new Configuration();
        config.set(GlmOptions.MODEL_PATH, dir.toString());
        config.set(GlmOptions.BACKEND, "cpu");
        config.set(GlmOptions.MAX_TOKENS, MAX_TOKENS);
        config.set(GlmOptions.KV_CACHE_BYTES, 16L << 20);
        return config;
    }

    /** A chat prompt of one user message. */
    static Prompt prompt(String requestId, String conversationId, String text) {
        return new Prompt(requestId, conversationId, null, text, null, null, null, null, Task.CHAT);
    }

    static Prompt prompt(String requestId, String conversationId, String text, int maxTokens) {
        return new Prompt(requestId, conversationId, null, text, null, null,
                new SamplingOverrides(null, null, null, maxTokens, null), null, Task.CHAT);
    }

    /**
     * {@code turns} turns of {@code conversations} conversations, as a source would deliver them:
     * every conversation's first turn, then every second turn, and so on, so that each conversation
     * has turns queued behind the one in flight.
     */
    static List<ChatInput> conversations(String prefix, int conversations, int turns) {
        List<ChatInput> inputs = new ArrayList<>();
        for (int t = 0; t < turns; t++) {
            inputs.addAll(turn(prefix, conversations, t));
        }
        return inputs;
    }

    /** Turn {@code t} of every conversation. */
    static List<ChatInput> turn(String prefix, int conversations, int t) {
        List<ChatInput> inputs = new ArrayList<>();
        for (int c = 0; c < conversations; c++) {
            String conversation = prefix + "-" + c;
            inputs.add(ChatInput.of(prompt(conversation + "/" + t, conversation,
                    "turn " + t + " of " + conversation + ": " + TOPICS[(c + t) % TOPICS.length])));
        }
        return inputs;
    }

    private static final String[] TOPICS = {
            "what is a keyed stream?", "explain checkpoints", "why does backpressure help?",
            "tell me about Kafka transactions", "how big is the KV cache?", "say something short"};
}
