package io.flinkglm.runtime.chat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.annotation.PublicEvolving;
import java.util.Optional;

/**
 * What the model said in one assistant turn: plain text, or a function call.
 *
 * <p>GLM-4 answers {@code "\n" + text} and stops on {@code <|user|>} or {@code <|endoftext|>}; to call a
 * function it writes {@code name + "\n" + json arguments} and stops on {@code <|observation|>}. The
 * stop token is therefore what tells the two apart, not the shape of the text.
 *
 * <pre>{@code
 * AssistantReply reply = AssistantReply.parse(text, lastId == tokenizer.specialId("<|observation|>"));
 * if (reply instanceof AssistantReply.FunctionCall call) {
 *     String result = run(call.name(), call.arguments());
 *     history.add(call.toMessage());
 *     history.add(ChatMessage.observation(result));
 * }
 * }</pre>
 */
@PublicEvolving
public sealed interface AssistantReply permits AssistantReply.Text, AssistantReply.FunctionCall {

    /** A text answer, without the newline the model writes after {@code <|assistant|>}. */
    record Text(String text) implements AssistantReply {}

    /**
     * A function call. {@code rawArguments} is the text after the name line, as generated;
     * {@code arguments} is its parse when it is one JSON value (blank means {@code {}}), else null.
     */
    record FunctionCall(String name, String rawArguments, JsonNode arguments) implements AssistantReply {
        /** Strict about text after the JSON value: "{...} and then" is not valid arguments. */
        private static final ObjectMapper ARGUMENTS_JSON = new ObjectMapper()
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

        /** Parses generated arguments; blank means no arguments ({@code {}}), malformed gives null. */
        static JsonNode parseArguments(String raw) {
            if (raw.isBlank()) {
                return ARGUMENTS_JSON.createObjectNode();
            }
            try {
                return ARGUMENTS_JSON.readTree(raw);
            } catch (JsonProcessingException e) {
                return null;
            }
        }

        /** Whether the arguments parsed as JSON; a model can write broken JSON, which is data, not an error. */
        public boolean argumentsValid() {
            return arguments != null;
        }

        public Optional<JsonNode> parsedArguments() {
            return Optional.ofNullable(arguments);
        }

        /** This call as the assistant message to keep in the history before the observation. */
        public ChatMessage toMessage() {
            return ChatMessage.functionCall(name, rawArguments);
        }
    }

    /**
     * Parses a generated assistant turn (the decoded text without its stop token).
     *
     * @param endedWithObservation whether generation stopped on {@code <|observation|>}
     */
    static AssistantReply parse(String generatedText, boolean endedWithObservation) {
        String text = generatedText.startsWith("\n") ? generatedText.substring(1) : generatedText;
        if (!endedWithObservation) {
            return new Text(text);
        }
        int newline = text.indexOf('\n');
        String name = (newline < 0 ? text : text.substring(0, newline)).strip();
        String raw = newline < 0 ? "" : text.substring(newline + 1);
        return new FunctionCall(name, raw, FunctionCall.parseArguments(raw));
    }
}
