package io.flinkglm.runtime.chat;

import org.apache.flink.annotation.PublicEvolving;

import java.util.Locale;

/**
 * Who speaks a message. GLM-4 calls a tool result {@code observation}; OpenAI's {@code tool} and the
 * older {@code function} role map to it, as GLM-4's own OpenAI-compatible server maps them.
 *
 * <pre>{@code
 * ChatRole.fromWire("tool");   // OBSERVATION
 * ChatRole.USER.wireName();    // "user", rendered as <|user|>
 * }</pre>
 */
@PublicEvolving
public enum ChatRole {
    SYSTEM, USER, ASSISTANT, OBSERVATION;

    /** The name inside the role token, {@code <|name|>}. */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a role name as GLM-4 or OpenAI spell it. */
    public static ChatRole fromWire(String role) {
        return switch (role) {
            case "system" -> SYSTEM;
            case "user" -> USER;
            case "assistant" -> ASSISTANT;
            case "observation", "tool", "function" -> OBSERVATION;
            default -> throw new ChatFormatException("unknown role '" + role
                    + "'; expected system, user, assistant, observation or tool");
        };
    }
}
