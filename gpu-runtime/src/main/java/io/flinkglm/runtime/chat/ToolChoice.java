package io.flinkglm.runtime.chat;

import com.fasterxml.jackson.databind.JsonNode;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import org.apache.flink.annotation.PublicEvolving;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * OpenAI's {@code tool_choice} for GLM-4: {@code auto} (the model decides), {@code required} (the model
 * must call one of the offered tools, whichever it picks), {@code none} (tools are left out of the
 * prompt, so the model cannot see them), or one named function the model must call.
 *
 * <p>{@code required} and {@code auto} are kept by constrained decoding, not by the prompt: see
 * {@link ToolCallValidator#callConstraint}. With {@code required} the turn is {@code name\n{arguments}}
 * of an offered tool whatever stop token ends it; with {@code auto} it is a call only when it ends on
 * {@code <|observation|>}.
 *
 * <p>GLM-4 writes a call as {@code <|assistant|>name\n{json}} — the name is the assistant turn's
 * metadata. To force a function, the operator prefills that metadata: it appends
 * {@link #forcedPrefix} after the prompt's {@code <|assistant|>}, so the first token the model
 * generates is already inside the arguments. The generated text then lacks the name, which
 * {@link #parseReply} puts back.
 *
 * <pre>{@code
 * ToolChoice choice = ToolChoice.function("get_weather");
 * int[] prompt = choice.encodePrompt(tokenizer, messages);   // ... <|assistant|> get_weather \n
 * // generate with stop ids <|observation|>, <|user|>, <|endoftext|>; then
 * AssistantReply reply = choice.parseReply(generatedText, stopId == observationId);
 * }</pre>
 */
@PublicEvolving
public final class ToolChoice {
    private static final ToolChoice AUTO = new ToolChoice(Kind.AUTO, null);
    private static final ToolChoice NONE = new ToolChoice(Kind.NONE, null);
    private static final ToolChoice REQUIRED = new ToolChoice(Kind.REQUIRED, null);

    private enum Kind { AUTO, NONE, REQUIRED, FUNCTION }

    private final Kind kind;
    private final String function;

    private ToolChoice(Kind kind, String function) {
        this.kind = kind;
        this.function = function;
    }

    public static ToolChoice auto() {
        return AUTO;
    }

    public static ToolChoice none() {
        return NONE;
    }

    /** The model must call one of the offered tools (OpenAI's {@code "required"}). */
    public static ToolChoice required() {
        return REQUIRED;
    }

    /** The model must call {@code name}; the name must not contain a newline (it ends the metadata line). */
    public static ToolChoice function(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isBlank() || name.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("a forced function name must be non-blank and on one line, got '" + name + "'");
        }
        return new ToolChoice(Kind.FUNCTION, name);
    }

    /**
     * Parses OpenAI's {@code tool_choice}: {@code "auto"}, {@code "none"}, {@code "required"}, or
     * {@code {"type": "function", "function": {"name": ...}}}; null or missing means auto.
     */
    public static ToolChoice fromOpenAi(JsonNode toolChoice) {
        if (toolChoice == null || toolChoice.isNull() || toolChoice.isMissingNode()) {
            return AUTO;
        }
        if (toolChoice.isTextual()) {
            return switch (toolChoice.asText()) {
                case "auto" -> AUTO;
                case "none" -> NONE;
                case "required" -> REQUIRED;
                default -> throw new IllegalArgumentException("tool_choice \"" + toolChoice.asText()
                        + "\" is not supported; use \"auto\", \"none\", \"required\" or"
                        + " {\"type\": \"function\", \"function\": {\"name\": ...}}");
            };
        }
        JsonNode name = toolChoice.path("function").path("name");
        if (!toolChoice.path("type").asText().equals("function") || !name.isTextual()) {
            throw new IllegalArgumentException("tool_choice object must be {\"type\": \"function\", \"function\": {\"name\": ...}}, got " + toolChoice);
        }
        return function(name.asText());
    }

    public boolean isAuto() {
        return kind == Kind.AUTO;
    }

    public boolean isNone() {
        return kind == Kind.NONE;
    }

    /** Whether the model must call one of the offered tools, of its choosing. */
    public boolean isRequired() {
        return kind == Kind.REQUIRED;
    }

    /** The function the model must call, if one is forced. */
    public Optional<String> forcedFunction() {
        return Optional.ofNullable(function);
    }

    /** The messages as the template should see them: with {@code none}, every message's tools removed. */
    public List<ChatMessage> applyTo(List<ChatMessage> messages) {
        if (kind != Kind.NONE) {
            return messages;
        }
        List<ChatMessage> out = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
            out.add(m.tools() == null ? m : m.withTools(null));
        }
        return out;
    }

    /**
     * Tokens to append after the generation prompt's {@code <|assistant|>}: {@code name + "\n"} as
     * ordinary text for a forced function, none otherwise. The metadata line is encoded as the template
     * encodes a function call in history, so the model continues exactly where a call's arguments start.
     */
    public int[] forcedPrefix(Glm4Tokenizer tokenizer) {
        return kind == Kind.FUNCTION ? tokenizer.encode(function + "\n") : new int[0];
    }

    /** The whole prompt: the template over {@link #applyTo} the messages, the generation prompt, then {@link #forcedPrefix}. */
    public int[] encodePrompt(Glm4Tokenizer tokenizer, List<ChatMessage> messages) {
        int[] prompt = ChatTemplate.encode(tokenizer, applyTo(messages), true);
        int[] prefix = forcedPrefix(tokenizer);
        int[] all = java.util.Arrays.copyOf(prompt, prompt.length + prefix.length);
        System.arraycopy(prefix, 0, all, prompt.length, prefix.length);
        return all;
    }

    /**
     * Parses the generated text of a turn prompted with {@link #encodePrompt}. With a forced function
     * the text is the arguments alone and is always a call to that function, whatever stop token ended
     * it (an arguments text cut off by {@code <|user|>} then shows as invalid JSON, not as prose). With
     * {@code required} the text is a whole call, {@code name\n{arguments}}, likewise whatever ended it.
     */
    public AssistantReply parseReply(String generatedText, boolean endedWithObservation) {
        if (kind == Kind.FUNCTION) {
            return AssistantReply.parse(function + "\n" + generatedText, true);
        }
        if (kind == Kind.REQUIRED) {
            return AssistantReply.parse(generatedText, true);
        }
        return AssistantReply.parse(generatedText, endedWithObservation);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ToolChoice c && c.kind == kind && Objects.equals(c.function, function);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, function);
    }

    @Override
    public String toString() {
        return kind == Kind.FUNCTION ? "function(" + function + ")" : kind.name().toLowerCase();
    }
}
