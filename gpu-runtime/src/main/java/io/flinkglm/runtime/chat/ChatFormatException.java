package io.flinkglm.runtime.chat;

import org.apache.flink.annotation.PublicEvolving;

/**
 * A chat message or conversation that cannot be rendered: an unknown role, content that is not text,
 * a function tool without a name.
 *
 * <pre>{@code
 * try {
 *     Conversation.fromJson(body);
 * } catch (ChatFormatException e) {
 *     // "message 2: unknown role 'bot'; expected system, user, assistant, observation or tool"
 * }
 * }</pre>
 */
@PublicEvolving
public final class ChatFormatException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public ChatFormatException(String message) {
        super(message);
    }
}
