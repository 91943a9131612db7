package io.flinkglm.records;

import java.util.Objects;
import org.apache.flink.annotation.PublicEvolving;

/**
 * The model's answer to a {@link Prompt}, with token counts and latencies.
 *
 * <pre>{@code
 * Completion c = Completion.builder("req-1", "conv-7")
 *         .text("Hello!", FinishReason.STOP)
 *         .usage(12, 3)
 *         .timings(5L, 40L, 95L)
 *         .build();
 * }</pre>
 *
 * @param text the answer; null when {@code finishReason} is {@link FinishReason#CONTENT_FILTER}
 * @param queueMs time from the prompt's arrival to its first scheduled step
 * @param ttftMs time from arrival to the first generated token
 * @param totalMs time from arrival to the last token
 * @param contextTurnsDropped how many of the conversation's oldest turns were left out of this turn's
 *        context to fit the window ({@code glm.conversation.overflow} TRUNCATE_OLDEST); 0 when none
 * @param contextReset whether the conversation started over from its system messages for this turn
 *        ({@code glm.conversation.overflow} RESET)
 */
@PublicEvolving
public record Completion(
        String requestId,
        String conversationId,
        String text,
        FinishReason finishReason,
        int promptTokens,
        int completionTokens,
        long queueMs,
        long ttftMs,
        long totalMs,
        int contextTurnsDropped,
        boolean contextReset)
        implements WireRecord {

    /** A completion whose context was not cut. */
    public Completion(String requestId, String conversationId, String text, FinishReason finishReason, int promptTokens,
                      int completionTokens, long queueMs, long ttftMs, long totalMs) {
        this(requestId, conversationId, text, finishReason, promptTokens, completionTokens, queueMs, ttftMs, totalMs,
                0, false);
    }

    @Override
    public String kafkaKey() {
        return conversationId;
    }

    public static Builder builder(String requestId, String conversationId) {
        return new Builder(requestId, conversationId);
    }

    /** This completion with its text withheld by moderation; counts and timings kept. */
    public Completion withheld() {
        return new Completion(requestId, conversationId, null, FinishReason.CONTENT_FILTER, promptTokens,
                completionTokens, queueMs, ttftMs, totalMs, contextTurnsDropped, contextReset);
    }

    /** This completion filed under another conversation; everything else kept as it is. */
    public Completion withConversationId(String conversationId) {
        return new Completion(requestId, conversationId, text, finishReason, promptTokens, completionTokens,
                queueMs, ttftMs, totalMs, contextTurnsDropped, contextReset);
    }

    /** Builds a {@link Completion}; counts and timings default to 0 (a refusal computes nothing). */
    @PublicEvolving
    public static final class Builder {
        private final String requestId;
        private final String conversationId;
        private String text;
        private FinishReason finishReason;
        private int promptTokens;
        private int completionTokens;
        private long queueMs;
        private long ttftMs;
        private long totalMs;
        private int contextTurnsDropped;
        private boolean contextReset;

        private Builder(String requestId, String conversationId) {
            this.requestId = Objects.requireNonNull(requestId, "requestId");
            this.conversationId = Objects.requireNonNull(conversationId, "conversationId");
        }

        public Builder text(String text, FinishReason finishReason) {
            this.text = text;
            this.finishReason = Objects.requireNonNull(finishReason, "finishReason");
            return this;
        }

        /** No text: moderation refused the prompt. */
        public Builder refused() {
            return text(null, FinishReason.CONTENT_FILTER);
        }

        public Builder usage(int promptTokens, int completionTokens) {
            if (promptTokens < 0 || completionTokens < 0) {
                throw new IllegalArgumentException("token counts must not be negative: " + promptTokens + ", " + completionTokens);
            }
            this.promptTokens = promptTokens;
            this.completionTokens = completionTokens;
            return this;
        }

        public Builder timings(long queueMs, long ttftMs, long totalMs) {
            this.queueMs = queueMs;
            this.ttftMs = ttftMs;
            this.totalMs = totalMs;
            return this;
        }

        /** How the conversation's context was cut to fit this turn (see the record's fields). */
        public Builder context(int turnsDropped, boolean reset) {
            if (turnsDropped < 0) {
                throw new IllegalArgumentException("turnsDropped must not be negative: " + turnsDropped);
            }
            this.contextTurnsDropped = turnsDropped;
            this.contextReset = reset;
            return this;
        }

        public Completion build() {
            if (finishReason == null) {
                throw new IllegalStateException("a completion needs text(...) or refused()");
            }
            if (text == null && finishReason != FinishReason.CONTENT_FILTER) {
                throw new IllegalStateException("only a content_filter completion has no text");
            }
            return new Completion(requestId, conversationId, text, finishReason, promptTokens, completionTokens,
                    queueMs, ttftMs, totalMs, contextTurnsDropped, contextReset);
        }
    }
}
