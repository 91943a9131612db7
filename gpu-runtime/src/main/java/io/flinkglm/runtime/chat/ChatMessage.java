package io.flinkglm.runtime.chat;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.annotation.PublicEvolving;
import java.util.List;

/**
 * One message of a GLM-4 conversation.
 *
 * <p>{@code content} may be null or empty: the template then renders no block for the message, which
 * is how a tools-only system message works. {@code metadata} is rendered right after the role token;
 * GLM-4 puts the called function's name there on an assistant function-call message. {@code tools},
 * when not null, makes the template render the tool system block before this message (an empty
 * list still renders the preamble, as the reference template does).
 *
 * <pre>{@code
 * List<ChatMessage> chat = List.of(
 *     ChatMessage.system(null).withTools(tools),
 *     ChatMessage.user("What's the weather in Beijing?"),
 *     ChatMessage.functionCall("get_weather", "{\"location\": \"Beijing\"}"),
 *     ChatMessage.observation("{\"temperature\": 25}"));
 * }</pre>
 */
@PublicEvolving
public record ChatMessage(ChatRole role, String content, String metadata, List<JsonNode> tools) {
    /** The tool types the template has a section for; other types are skipped, as the template skips them. */
    static final List<String> TOOL_TYPES = List.of("function", "python", "simple_browser", "cogview");

    public ChatMessage {
        if (role == null) {
            throw new ChatFormatException("a message needs a role");
        }
        if (tools != null) {
            tools.forEach(ChatMessage::checkTool);
            tools = List.copyOf(tools);
        }
    }

    public static ChatMessage system(String content) {
        return new ChatMessage(ChatRole.SYSTEM, content, null, null);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage(ChatRole.USER, content, null, null);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage(ChatRole.ASSISTANT, content, null, null);
    }

    /** A tool result, sent back to the model after a function call. */
    public static ChatMessage observation(String content) {
        return new ChatMessage(ChatRole.OBSERVATION, content, null, null);
    }

    /** The assistant's function call as GLM-4 keeps it in history: the name as metadata, the arguments as content. */
    public static ChatMessage functionCall(String name, String arguments) {
        return new ChatMessage(ChatRole.ASSISTANT, arguments, name, null);
    }

    /** This message carrying tool definitions (OpenAI form, {@code {"type": "function", "function": {...}}}). */
    public ChatMessage withTools(List<JsonNode> toolDefinitions) {
        return new ChatMessage(role, content, metadata, toolDefinitions);
    }

    /** Whether the template renders a role block for this message (Jinja's truthiness of content). */
    boolean hasContent() {
        return content != null && !content.isEmpty();
    }

    private static void checkTool(JsonNode tool) {
        if (tool == null || !tool.isObject()) {
            throw new ChatFormatException("a tool definition must be a JSON object, got " + tool);
        }
        if (tool.path("type").asText().equals("function")) {
            JsonNode name = tool.path("function").path("name");
            if (!name.isTextual() || name.asText().isEmpty()) {
                throw new ChatFormatException("function tool without a name: " + tool
                        + " (expected {\"type\": \"function\", \"function\": {\"name\": ..., ...}})");
            }
        }
    }
}
