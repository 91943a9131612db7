package io.flinkglm.records;

import java.util.Map;
import org.apache.flink.annotation.PublicEvolving;

/**
 * One turn of a conversation inside a {@link Prompt}.
 *
 * <pre>{@code
 * new ChatMessage("user", "What is the weather in Paris?", Map.of())
 * }</pre>
 *
 * @param role system, user, assistant, tool or observation (GLM-4's name for a tool result)
 * @param content the turn's text
 * @param metadata free-form string pairs, e.g. the tool call id a tool turn answers; nullable
 */
@PublicEvolving
public record ChatMessage(String role, String content, Map<String, String> metadata) {}
