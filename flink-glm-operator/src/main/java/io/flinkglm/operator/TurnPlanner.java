package io.flinkglm.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SamplingOverrides;
import io.flinkglm.records.Task;
import io.flinkglm.records.ToolResult;
import io.flinkglm.runtime.chat.ChatMessage;
import io.flinkglm.runtime.chat.ChatRole;
import io.flinkglm.runtime.chat.ChatTemplate;
import io.flinkglm.runtime.chat.ToolChoice;
import io.flinkglm.runtime.engine.SamplingParams;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import org.apache.flink.configuration.ReadableConfig;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Turns one input and the conversation so far into the prompt tokens and sampling of the next
 * generation step. Pure: no Flink, no engine, so the rules read (and test) on their own.
 *
 * <p>A conversation's context only grows: the first turn renders the chat template in full; a later
 * turn renders just its new messages and appends them to the tokens the model already saw (which
 * end with the previous reply's stop token, {@code <|user|>} or {@code <|observation|>} — exactly
 * the token the new message starts with, so it is not repeated). Keeping the model's own tokens
 * rather than re-tokenizing the reply's text means the whole history is a prefix of the new prompt,
 * which the engine's prefix cache or the persisted KV then covers.
 */
final class TurnPlanner {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int TEMPLATE_PREFIX_TOKENS = 2; // [gMASK] <sop>

    /** The input cannot become a turn; the reason goes to the error output. */
    static final class InvalidInput extends Exception {
        InvalidInput(String reason) {
            super(reason);
        }
    }

    /**
     * One planned generation step.
     *
     * @param requestId    the id the answer carries (a tool result continues its call's request)
     * @param promptTokens the whole context to feed the model
     * @param newMessages  what this turn adds to the history
     * @param remember     whether the conversation state keeps this turn (not for raw completions)
     */
    record Turn(String requestId, int[] promptTokens, List<ChatMessage> newMessages, String toolsJson,
                ToolChoice toolChoice, SamplingParams sampling, boolean remember) {}

    private final Glm4Tokenizer tokenizer;
    private final ReadableConfig config;
    private final List<Integer> stopIds;

    TurnPlanner(Glm4Tokenizer tokenizer, List<Integer> modelEosIds, ReadableConfig config) {
        this.tokenizer = tokenizer;
        this.config = config;
        List<Integer> stops = new ArrayList<>();
        Arrays.stream(tokenizer.stopIds()).forEach(stops::add);
        modelEosIds.stream().filter(id -> !stops.contains(id)).forEach(stops::add);
        this.stopIds = List.copyOf(stops);
    }

    Turn plan(ConversationState state, ChatInput input) throws InvalidInput {
        return input.prompt != null ? planPrompt(state, input.prompt) : planToolResult(state, input.toolResult);
    }

    private Turn planPrompt(ConversationState state, Prompt prompt) throws InvalidInput {
        List<String> broken = prompt.violations();
        if (!broken.isEmpty()) {
            throw new InvalidInput("invalid prompt: " + String.join("; ", broken));
        }
        if (prompt.task() == Task.COMPLETE) {
            if (prompt.text() == null) {
                throw new InvalidInput("task complete needs text, not messages");
            }
            return new Turn(prompt.requestId(), tokenizer.encode(prompt.text()), List.of(), null, ToolChoice.none(),
                    sampling(prompt.requestId(), 0, prompt.sampling()), false);
        }
        if (prompt.task() != Task.CHAT) {
            throw new InvalidInput("task " + prompt.task() + " is not handled by the chat operator");
        }
        if (state.pendingCallId != null) {
            throw new InvalidInput("conversation " + prompt.conversationId() + " waits for the result of call "
                    + state.pendingCallId + "; send a ToolResult before the next prompt");
        }
        List<ChatMessage> messages = new ArrayList<>();
        try {
            if (prompt.text() != null) {
                messages.add(ChatMessage.user(prompt.text()));
            } else {
                for (io.flinkglm.records.ChatMessage m : prompt.messages()) {
                    messages.add(toRuntime(m));
                }
            }
        } catch (IllegalArgumentException e) {
            throw new InvalidInput("invalid message: " + e.getMessage());
        }
        String toolsJson = state.tokens.length == 0 ? prompt.tools() : null;
        if (toolsJson != null) {
            attachTools(messages, toolsJson);
        }
        ToolChoice choice = toolChoice(prompt.toolChoice());
        messages = choice.applyTo(messages);
        int[] tokens = extend(state.tokens, messages);
        int[] forced = choice.forcedPrefix(tokenizer);
        if (forced.length > 0) {
            tokens = Arrays.copyOf(tokens, tokens.length + forced.length);
            System.arraycopy(forced, 0, tokens, tokens.length - forced.length, forced.length);
        }
        return new Turn(prompt.requestId(), tokens, messages, toolsJson, choice,
                sampling(prompt.requestId(), state.generations, prompt.sampling()), true);
    }

    private Turn planToolResult(ConversationState state, ToolResult result) throws InvalidInput {
        if (result.callId() == null || !result.callId().equals(state.pendingCallId)) {
            throw new InvalidInput("tool result for call " + result.callId() + " of conversation "
                    + result.conversationId() + " answers no pending call"
                    + (state.pendingCallId == null ? " (none is pending)" : " (pending: " + state.pendingCallId + ")"));
        }
        List<ChatMessage> messages = List.of(ChatMessage.observation(result.content() == null ? "" : result.content()));
        return new Turn(state.pendingRequestId, extend(state.tokens, messages), messages, null, ToolChoice.auto(),
                sampling(state.pendingRequestId, state.generations, null), true);
    }

    /** The context so far followed by the new messages and the generation prompt. */
    private int[] extend(int[] context, List<ChatMessage> messages) {
        int[] rendered = ChatTemplate.encode(tokenizer, messages, true);
        if (context.length == 0) {
            return rendered;
        }
        int from = TEMPLATE_PREFIX_TOKENS;
        if (rendered.length > from && rendered[from] == context[context.length - 1]) {
            from++; // the previous reply already ended with this role token
        }
        int[] out = Arrays.copyOf(context, context.length + rendered.length - from);
        System.arraycopy(rendered, from, out, context.length, rendered.length - from);
        return out;
    }

    /** A prompt's tool_choice: "auto" (or absent), "none", a function name, or OpenAI's JSON object form. */
    private static ToolChoice toolChoice(String choice) throws InvalidInput {
        try {
            if (choice == null || choice.equals("auto")) {
                return ToolChoice.auto();
            }
            if (choice.equals("none")) {
                return ToolChoice.none();
            }
            return choice.strip().startsWith("{") ? ToolChoice.fromOpenAi(JSON.readTree(choice)) : ToolChoice.function(choice);
        } catch (com.fasterxml.jackson.core.JsonProcessingException | IllegalArgumentException e) {
            throw new InvalidInput("invalid tool_choice " + choice + ": " + e.getMessage());
        }
    }

    private static void attachTools(List<ChatMessage> messages, String toolsJson) throws InvalidInput {
        List<JsonNode> tools = new ArrayList<>();
        try {
            JsonNode node = JSON.readTree(toolsJson);
            if (!(node instanceof ArrayNode array)) {
                throw new InvalidInput("tools must be a JSON array of tool definitions");
            }
            array.forEach(tools::add);
            if (!messages.isEmpty() && messages.get(0).role() == ChatRole.SYSTEM) {
                messages.set(0, messages.get(0).withTools(tools));
            } else {
                messages.add(0, new ChatMessage(ChatRole.SYSTEM, null, null, tools));
            }
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new InvalidInput("tools are not valid JSON: " + e.getOriginalMessage());
        } catch (IllegalArgumentException e) {
            throw new InvalidInput("invalid tool definition: " + e.getMessage());
        }
    }

    private static ChatMessage toRuntime(io.flinkglm.records.ChatMessage m) {
        Map<String, String> metadata = m.metadata();
        // GLM-4 keeps one metadata string: the function name of an assistant's call.
        String name = metadata == null ? null : metadata.get("name");
        return new ChatMessage(ChatRole.fromWire(m.role()), m.content(), name, null);
    }

    private SamplingParams sampling(String requestId, int generation, SamplingOverrides o) {
        SamplingParams.Builder b = SamplingParams.builder()
                .temperature(o != null && o.temperature() != null ? o.temperature() : config.get(GlmOptions.TEMPERATURE))
                .topP(o != null && o.topP() != null ? o.topP() : config.get(GlmOptions.TOP_P))
                .topK(o != null && o.topK() != null ? o.topK() : config.get(GlmOptions.TOP_K))
                .maxTokens(o != null && o.maxTokens() != null ? o.maxTokens() : config.get(GlmOptions.MAX_TOKENS))
                .stopTokenIds(stopIds);
        long seed = o != null && o.seed() != null ? o.seed() : seedOf(requestId);
        // Each generation step of a conversation draws from its own stream, the same on every replay.
        return b.seed(seed + 0x9E3779B97F4A7C15L * generation).build();
    }

    /** A stable 64-bit seed from a request id (FNV-1a): the same id gives the same tokens after a replay. */
    static long seedOf(String requestId) {
        long h = 0xcbf29ce484222325L;
        for (byte b : requestId.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        return h;
    }
}
