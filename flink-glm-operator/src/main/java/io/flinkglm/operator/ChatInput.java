package io.flinkglm.operator;

import io.flinkglm.records.Origin;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Sourced;
import io.flinkglm.records.ToolResult;
import java.util.Objects;
import org.apache.flink.annotation.PublicEvolving;

/**
 * What arrives for a conversation: a new prompt or the result of a function call the model made, with
 * the {@link Origin} it was read at, so a turn that fails at any stage becomes a dead letter that replays.
 * Both streams are unioned and keyed by {@link #conversationId()} before the chat operator.
 *
 * <pre>{@code
 * DataStream<ChatInput> in = prompts.map(ChatInput::ofPrompt, type).union(results.map(ChatInput::ofToolResult, type));
 * }</pre>
 */
@PublicEvolving
public class ChatInput {
    /** Exactly one of {@code prompt} and {@code toolResult} is set. */
    public Prompt prompt;
    public ToolResult toolResult;
    /** Where the input was read; {@link Origin#none()} for inputs built in the job. */
    public Origin origin = Origin.none();

    public ChatInput() {}

    /** A prompt read from Kafka. */
    public static ChatInput ofPrompt(Sourced<Prompt> read) {
        ChatInput in = of(read.value());
        in.origin = read.origin();
        return in;
    }

    /** A tool result read from Kafka. */
    public static ChatInput ofToolResult(Sourced<ToolResult> read) {
        ChatInput in = of(read.value());
        in.origin = read.origin();
        return in;
    }

    /** A prompt built in the job; its dead letters carry no bytes. */
    public static ChatInput of(Prompt prompt) {
        ChatInput in = new ChatInput();
        in.prompt = Objects.requireNonNull(prompt);
        return in;
    }

    /** A tool result built in the job; its dead letters carry no bytes. */
    public static ChatInput of(ToolResult result) {
        ChatInput in = new ChatInput();
        in.toolResult = Objects.requireNonNull(result);
        return in;
    }

    public String conversationId() {
        return prompt != null ? prompt.conversationId() : toolResult.conversationId();
    }

    /** The id answers carry: the prompt's request id, or the call id a tool result answers. */
    public String id() {
        return prompt != null ? prompt.requestId() : toolResult.callId();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChatInput c && Objects.equals(prompt, c.prompt) && Objects.equals(toolResult, c.toolResult)
                && Objects.equals(origin, c.origin);
    }

    @Override
    public int hashCode() {
        return Objects.hash(prompt, toolResult, origin);
    }

    @Override
    public String toString() {
        return (prompt != null ? "ChatInput{" + prompt : "ChatInput{" + toolResult) + " from " + origin + "}";
    }
}
