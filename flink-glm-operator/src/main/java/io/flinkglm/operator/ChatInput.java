package io.flinkglm.operator;

import io.flinkglm.records.Prompt;
import io.flinkglm.records.ToolResult;

import java.util.Objects;

/**
 * What arrives for a conversation: a new prompt or the result of a function call the model made.
 * Both streams are unioned and keyed by {@link #conversationId()} before the chat operator.
 *
 * <pre>{@code
 * DataStream<ChatInput> in = prompts.map(ChatInput::of).union(results.map(ChatInput::of));
 * }</pre>
 */
public class ChatInput {
    /** Exactly one of {@code prompt} and {@code toolResult} is set. */
    public Prompt prompt;
    public ToolResult toolResult;

    public ChatInput() {}

    public static ChatInput of(Prompt prompt) {
        ChatInput in = new ChatInput();
        in.prompt = Objects.requireNonNull(prompt);
        return in;
    }

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
        return o instanceof ChatInput c && Objects.equals(prompt, c.prompt) && Objects.equals(toolResult, c.toolResult);
    }

    @Override
    public int hashCode() {
        return Objects.hash(prompt, toolResult);
    }

    @Override
    public String toString() {
        return prompt != null ? "ChatInput{" + prompt + "}" : "ChatInput{" + toolResult + "}";
    }
}
