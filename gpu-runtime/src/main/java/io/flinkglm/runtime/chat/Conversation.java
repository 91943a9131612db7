package io.flinkglm.runtime.chat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.annotation.PublicEvolving;
import java.util.ArrayList;
import java.util.List;

/**
 * A conversation read from JSON: either an array of messages, or an OpenAI-style request object
 * {@code {"messages": [...], "tools": [...]}}.
 *
 * <p>Top-level tools go into a leading system message with no content, as GLM-4's OpenAI-compatible
 * server does; rendering that message before the caller's own system message gives the same text as
 * attaching the tools to it. Unlike that server we keep the caller's system message rather than drop
 * it. An assistant message with OpenAI {@code tool_calls} becomes one GLM-4 function-call message
 * per call (name as metadata, arguments as content), again as that server does.
 *
 * <pre>{@code
 * List<ChatMessage> messages = Conversation.fromJson(
 *     "{\"messages\": [{\"role\": \"user\", \"content\": \"你好\"}]}").messages();
 * }</pre>
 */
@PublicEvolving
public record Conversation(List<ChatMessage> messages) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public Conversation {
        messages = List.copyOf(messages);
    }

    /** Parses a JSON array of messages or a {@code {"messages", "tools"}} object. */
    public static Conversation fromJson(String json) {
        try {
            return fromJson(JSON.readTree(json));
        } catch (JsonProcessingException e) {
            throw new ChatFormatException("conversation is not valid JSON: " + e.getOriginalMessage());
        }
    }

    /** As {@link #fromJson(String)}, from a parsed tree. */
    public static Conversation fromJson(JsonNode root) {
        JsonNode messages = root.isObject() ? root.path("messages") : root;
        if (!messages.isArray()) {
            throw new ChatFormatException("expected a JSON array of messages or an object with a \"messages\" array");
        }
        List<ChatMessage> parsed = new ArrayList<>();
        JsonNode tools = root.path("tools");
        if (tools.isArray() && !tools.isEmpty()) { // the server tests `if tools:`, so [] adds nothing
            List<JsonNode> definitions = new ArrayList<>();
            tools.forEach(definitions::add);
            parsed.add(ChatMessage.system(null).withTools(definitions));
        } else if (!tools.isMissingNode() && !tools.isNull() && !tools.isArray()) {
            throw new ChatFormatException("\"tools\" must be an array of tool definitions");
        }
        for (int i = 0; i < messages.size(); i++) {
            try {
                parseMessage(messages.get(i), parsed);
            } catch (ChatFormatException e) {
                throw new ChatFormatException("message " + i + ": " + e.getMessage());
            }
        }
        return new Conversation(parsed);
    }

    private static void parseMessage(JsonNode message, List<ChatMessage> out) {
        if (!message.isObject()) {
            throw new ChatFormatException("expected a JSON object, got " + message);
        }
        JsonNode role = message.path("role");
        if (!role.isTextual()) {
            throw new ChatFormatException("missing \"role\"");
        }
        String content = optionalText(message, "content");
        String metadata = optionalText(message, "metadata");
        List<JsonNode> tools = null;
        JsonNode toolsNode = message.path("tools");
        if (toolsNode.isArray()) {
            tools = new ArrayList<>();
            toolsNode.forEach(tools::add);
        } else if (!toolsNode.isMissingNode() && !toolsNode.isNull()) {
            throw new ChatFormatException("\"tools\" must be an array");
        }
        JsonNode toolCalls = message.path("tool_calls");
        ChatMessage parsed = new ChatMessage(ChatRole.fromWire(role.asText()), content, metadata, tools);
        if (toolCalls.isArray() && !toolCalls.isEmpty()) {
            if (parsed.hasContent() || tools != null) {
                out.add(parsed);
            }
            toolCalls.forEach(call -> out.add(functionCall(call)));
        } else {
            out.add(parsed);
        }
    }

    private static ChatMessage functionCall(JsonNode call) {
        JsonNode function = call.path("function");
        JsonNode name = function.path("name");
        if (!name.isTextual() || name.asText().isEmpty()) {
            throw new ChatFormatException("tool call without a function name: " + call);
        }
        JsonNode arguments = function.path("arguments");
        // OpenAI sends arguments as a JSON string; accept an object too and keep its compact text
        String text = arguments.isTextual() ? arguments.asText() : arguments.isMissingNode() ? "" : arguments.toString();
        return ChatMessage.functionCall(name.asText(), text);
    }

    private static String optionalText(JsonNode message, String field) {
        JsonNode value = message.path(field);
        if (value.isMissingNode() || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw new ChatFormatException("\"" + field + "\" must be a string, got " + value.getNodeType());
        }
        return value.asText();
    }
}
