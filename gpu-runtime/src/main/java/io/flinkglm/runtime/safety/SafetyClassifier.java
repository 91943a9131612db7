package io.flinkglm.runtime.safety;

import io.flinkglm.runtime.chat.ChatMessage;
import io.flinkglm.runtime.chat.ChatTemplate;
import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.InferenceEngine;
import io.flinkglm.runtime.engine.StreamingCheck;
import io.flinkglm.runtime.safety.SafetyVerdict.Checked;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import org.apache.flink.annotation.PublicEvolving;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * Moderates a text with the chat model itself: one prefill-only classification request per text, no
 * decoding. The prompt is
 *
 * <pre>
 * [gMASK]&lt;sop&gt;&lt;|system|&gt;\n{policy text}          identical for every request: shared by prefix caching
 * &lt;|user|&gt;\n{header}{text to check}                  the only part each request computes
 * &lt;|assistant|&gt;{answer prefix, e.g. "\nCategory:"}     so the next token is a category label
 * </pre>
 *
 * and the engine returns the next-token distribution restricted to the categories' label tokens. The
 * text goes in as message content, which {@link ChatTemplate#encode} always encodes as ordinary text,
 * so a {@code <|assistant|>} inside it cannot end the user turn.
 *
 * <pre>{@code
 * SafetyClassifier classifier = new SafetyClassifier(engine, tokenizer, SafetyPolicy.glm4SafetyBench());
 * classifier.classify("msg-42/prompt", text, Checked.PROMPT)
 *           .thenAccept(v -> { if (v.flagged()) reject(v); });
 *
 * // An operator that submits to the engine itself (bounded in-flight work, backpressure):
 * SafetyClassifier.Prepared p = classifier.prepare("msg-42/prompt", text, Checked.PROMPT);
 * engine.trySubmit(p.request()).ifPresent(h -> h.result().thenApply(p::verdict).thenAccept(emit));
 * }</pre>
 *
 * <p>Thread-safe; holds no per-request state.
 */
@PublicEvolving
public final class SafetyClassifier {
    private static final String PROMPT_HEADER = "Classify this message that a user sent to an AI assistant:\n\n";
    private static final String COMPLETION_HEADER = "Classify this reply that an AI assistant wrote:\n\n";
    private static final String STREAMING_HEADER = "Classify the reply that an AI assistant is writing to this message."
            + "\n\nMessage:\n";
    private static final String STREAMING_REPLY = "\n\nReply so far:\n";

    private final InferenceEngine engine;
    private final Glm4Tokenizer tokenizer;
    private final SafetyPolicy policy;
    private final ChatMessage systemMessage;
    private final int[] labelTokenIds;
    private final int[] answerPrefixTokens;

    /** @throws IllegalArgumentException if two of the policy's labels start with the same token */
    public SafetyClassifier(InferenceEngine engine, Glm4Tokenizer tokenizer, SafetyPolicy policy) {
        this.engine = Objects.requireNonNull(engine, "engine");
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.systemMessage = ChatMessage.system(policy.systemText());
        this.labelTokenIds = policy.labelTokenIds(tokenizer);
        this.answerPrefixTokens = tokenizer.encode(policy.answerPrefix());
    }

    public SafetyPolicy policy() {
        return policy;
    }

    /** The scored token of each category, in policy order. */
    public int[] labelTokenIds() {
        return labelTokenIds.clone();
    }

    /** The moderation prompt for a text, ending where the model would write the label. */
    public int[] promptTokens(String text, Checked which) {
        Objects.requireNonNull(text, "text");
        String header = which == Checked.PROMPT ? PROMPT_HEADER : COMPLETION_HEADER;
        int[] chat = ChatTemplate.encode(tokenizer, List.of(systemMessage, ChatMessage.user(header + text)), true);
        int[] prompt = Arrays.copyOf(chat, chat.length + answerPrefixTokens.length);
        System.arraycopy(answerPrefixTokens, 0, prompt, chat.length, answerPrefixTokens.length);
        return prompt;
    }

    /**
     * Moderation of a reply while it is generated, for {@link GenerationRequest.Builder#streamingCheck}: every
     * {@code interval} tokens the engine classifies
     *
     * <pre>
     * [gMASK]&lt;sop&gt;&lt;|system|&gt;\n{policy text}&lt;|user|&gt;\n{header}{prompt}\n\nReply so far:\n   the prefix, padded to whole KV blocks
     * {the reply's tokens so far}                                                  as generated, not re-encoded
     * &lt;|assistant|&gt;{answer prefix}                                                  the suffix
     * </pre>
     *
     * <p>The reply goes in as the token ids the model generated, so each check extends the previous one and the
     * prefix cache serves all of it but the new tokens; a check is flagged as {@link #prepare}'s verdicts are.
     *
     * @param prompt what the user asked (the reply is judged in its context); may be empty
     */
    public StreamingCheck streamingCheck(String prompt, int interval) {
        Objects.requireNonNull(prompt, "prompt");
        int[] prefix = ChatTemplate.encode(tokenizer,
                List.of(systemMessage, ChatMessage.user(STREAMING_HEADER + prompt + STREAMING_REPLY)), false);
        int[] suffix = new int[1 + answerPrefixTokens.length];
        suffix[0] = tokenizer.specialId("<|assistant|>");
        System.arraycopy(answerPrefixTokens, 0, suffix, 1, answerPrefixTokens.length);
        int[] newline = tokenizer.encode("\n");
        return new StreamingCheck(interval, prefix, suffix, labelTokenIds, newline[newline.length - 1],
                p -> SafetyVerdict.of(policy, "", Checked.COMPLETION, p, 0, 0, 0).flagged());
    }

    /**
     * The verdict of the check that decided a request with a {@link #streamingCheck}: the flagged one (the
     * result ended with CONTENT_FILTER) or the final one.
     *
     * @throws SafetyClassificationException if no check decided it (the request failed, or was cancelled)
     */
    public SafetyVerdict streamingVerdict(String requestId, GenerationResult result) {
        if (result.classProbabilities() == null) {
            throw new SafetyClassificationException("request " + result.requestId() + " ended with "
                    + result.finishReason() + (result.message() == null ? "" : " (" + result.message() + ")")
                    + " before a streaming check decided it; no verdict");
        }
        return SafetyVerdict.of(policy, requestId, Checked.COMPLETION, result.classProbabilities(), 0, 0, 0);
    }

    /** The request for a text and how to read its result, for callers that submit to the engine themselves. */
    public Prepared prepare(String requestId, String text, Checked which) {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(which, "which");
        return new Prepared(requestId, which, promptTokens(text, which));
    }

    /**
     * Submits the classification and completes with its verdict; completes exceptionally when the engine
     * is full ({@link io.flinkglm.runtime.engine.EngineFullException}), rejects the request, or ends it
     * without classifying (cancelled, deadline, error).
     */
    public CompletableFuture<SafetyVerdict> classify(String requestId, String text, Checked which) {
        Prepared prepared;
        try {
            prepared = prepare(requestId, text, which);
            return engine.submit(prepared.request()).result().thenApply(prepared::verdict);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /**
     * One prepared classification: the engine request and the mapping of its result to a verdict.
     *
     * <pre>{@code
     * GenerationRequest r = prepared.requestBuilder().priority(-1).deadlineMillis(deadline).build();
     * SafetyVerdict v = prepared.verdict(engine.submit(r).result().join());
     * }</pre>
     */
    public final class Prepared {
        private final String requestId;
        private final Checked checked;
        private final int[] promptTokens;

        private Prepared(String requestId, Checked checked, int[] promptTokens) {
            this.requestId = requestId;
            this.checked = checked;
            this.promptTokens = promptTokens;
        }

        public String requestId() {
            return requestId;
        }

        public Checked checked() {
            return checked;
        }

        /** The classification request with default priority and no deadline. */
        public GenerationRequest request() {
            return requestBuilder().build();
        }

        /** A builder holding the prompt and label ids, for setting priority, deadline or a conversation key. */
        public GenerationRequest.Builder requestBuilder() {
            return GenerationRequest.builder(requestId, promptTokens).classify(labelTokenIds);
        }

        /**
         * The verdict a finished request gives.
         *
         * @throws SafetyClassificationException if the request ended without classifying
         */
        public SafetyVerdict verdict(GenerationResult result) {
            if (result.finishReason() != GenerationResult.FinishReason.CLASSIFIED) {
                throw new SafetyClassificationException("safety request " + result.requestId() + " ended with "
                        + result.finishReason() + (result.message() == null ? "" : " (" + result.message() + ")")
                        + " instead of CLASSIFIED; no verdict");
            }
            return SafetyVerdict.of(policy, requestId, checked, result.classProbabilities(), result.promptTokens(),
                    result.cachedPromptTokens(), result.computedPromptTokens());
        }
    }
}
