package io.flinkglm.records;

/**
 * The model's answer to a {@link Prompt}, with token counts and latencies.
 *
 * <pre>{@code
 * new Completion("req-1", "conv-7", "Hello!", "stop", 12, 3, 5L, 40L, 95L)
 * }</pre>
 *
 * @param finishReason {@code stop}, {@code length}, {@code tool_calls} or {@code error}
 * @param queueMs time from the prompt's arrival to its first scheduled step
 * @param ttftMs time from arrival to the first generated token
 * @param totalMs time from arrival to the last token
 */
public record Completion(
        String requestId,
        String conversationId,
        String text,
        String finishReason,
        int promptTokens,
        int completionTokens,
        long queueMs,
        long ttftMs,
        long totalMs)
        implements WireRecord {

    @Override
    public String kafkaKey() {
        return conversationId;
    }
}
