package io.flinkglm.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SamplingOverrides;
import io.flinkglm.records.Task;
import io.flinkglm.records.ToolResult;
import io.flinkglm.runtime.chat.ChatFormatException;
import io.flinkglm.runtime.chat.ChatMessage;
import io.flinkglm.runtime.chat.ChatTemplate;
import io.flinkglm.runtime.chat.Conversation;
import io.flinkglm.runtime.chat.ToolCallValidator;
import io.flinkglm.runtime.chat.ToolChoice;
import io.flinkglm.runtime.constraint.Constraint;
import io.flinkglm.runtime.model.Fnv1a;
import io.flinkglm.runtime.engine.SamplingParams;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.ReadableConfig;

/**
 * Turns one input and the conversation so far into the prompt tokens and sampling of the next
 * generation step, or into the {@link Rejection} that says why it cannot be one. Pure: no Flink state,
 * no engine, so the rules read (and test) on their own.
 *
 * <p>A conversation's context only grows: the first turn renders the chat template in full; a later
 * turn renders just its new messages and appends them to the tokens the model already saw (which
 * end with the previous reply's stop token, {@code <|user|>} or {@code <|observation|>} — exactly
 * the token the new message starts with, so it is not repeated). Keeping the model's own tokens
 * rather than re-tokenizing the reply's text means the whole history is a prefix of the new prompt,
 * which the engine's prefix cache or the persisted KV then covers.
 *
 * <p>Every limit is checked here, before the engine sees the turn: sampling values in range, a
 * {@code tool_choice} that names an offered tool, a prompt that leaves room in the context, and
 * max tokens capped by {@link GlmOptions#MAX_TOKENS_LIMIT} and by the context left.
 */
@Internal
final class TurnPlanner {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int TEMPLATE_PREFIX_TOKENS = 2; // [gMASK] <sop>

    private final Glm4Tokenizer tokenizer;
    private final ReadableConfig config;
    private final List<Integer> stopIds;
    private final int contextTokens;
    private final ContextWindow contextWindow;

    TurnPlanner(Glm4Tokenizer tokenizer, List<Integer> modelEosIds, int contextTokens, ReadableConfig config) {
        this.tokenizer = tokenizer;
        this.config = config;
        this.contextTokens = contextTokens;
        this.contextWindow = new ContextWindow(tokenizer);
        List<Integer> stops = new ArrayList<>();
        Arrays.stream(tokenizer.stopIds()).forEach(stops::add);
        modelEosIds.stream().filter(id -> !stops.contains(id)).forEach(stops::add);
        this.stopIds = List.copyOf(stops);
    }

    TurnPlan plan(ConversationState state, ChatInput input) {
        return input.prompt != null ? planPrompt(state, input.prompt) : planToolResult(state, input.toolResult);
    }

    private TurnPlan planPrompt(ConversationState state, Prompt prompt) {
        List<String> broken = prompt.violations();
        if (!broken.isEmpty()) {
            return Rejection.plan("invalid_prompt", String.join("; ", broken));
        }
        List<String> badSampling = samplingViolations(prompt.sampling());
        if (!badSampling.isEmpty()) {
            return Rejection.plan("invalid_sampling", String.join("; ", badSampling));
        }
        Optional<String> badPriority = TenantScheduling.priorityViolation(prompt);
        if (badPriority.isPresent()) {
            return new Rejection(DeadLetter.Stage.PLAN, badPriority.get());
        }
        if (prompt.task() == Task.COMPLETE) {
            if (prompt.text() == null) {
                return Rejection.plan("invalid_prompt", "task complete needs text, not messages");
            }
            Constraint format;
            try {
                format = responseFormat(prompt.responseFormat());
            } catch (IllegalArgumentException e) {
                return Rejection.plan("invalid_response_format", e.getMessage());
            }
            return turn(null, prompt.requestId(), tokenizer.encode(prompt.text()), List.of(), null, ToolChoice.none(),
                    prompt.sampling(), false, format);
        }
        if (prompt.task() != Task.CHAT) {
            return Rejection.plan("invalid_prompt", "task " + prompt.task() + " is not handled by the chat operator");
        }
        if (state.pendingCallId != null) {
            return Rejection.plan("call_pending", "conversation " + prompt.conversationId() + " waits for the result"
                    + " of call " + state.pendingCallId + "; send a ToolResult before the next prompt");
        }
        // Tools are offered once, with the conversation's first turn; later turns' tools are ignored.
        String toolsJson = state.tokens.length == 0 ? prompt.tools() : null;
        List<ChatMessage> messages;
        try {
            messages = Conversation.fromJson(conversationJson(prompt, toolsJson)).messages();
        } catch (IllegalArgumentException e) { // ChatFormatException included
            return Rejection.plan("invalid_messages", e.getMessage());
        }
        String offered = toolsJson != null ? toolsJson : state.toolsJson;
        ToolCallValidator tools;
        try {
            tools = ToolCallValidator.fromJson(offered == null ? "[]" : offered);
        } catch (IllegalArgumentException e) {
            return Rejection.plan("invalid_tools", e.getMessage());
        }
        ToolChoice choice;
        try {
            choice = toolChoice(prompt.toolChoice());
        } catch (IllegalArgumentException e) {
            return Rejection.plan("invalid_tool_choice", prompt.toolChoice() + ": " + e.getMessage());
        }
        if (choice.forcedFunction().isPresent()) {
            String name = choice.forcedFunction().get();
            Set<String> names = tools.functionNames();
            if (!names.contains(name) && !tools.builtInTools().contains(name)) {
                return Rejection.plan("invalid_tool_choice", "tool_choice names function " + name
                        + " but the conversation offers " + (names.isEmpty() ? "no functions" : "only " + names));
            }
        }
        if (choice.isRequired() && tools.functionNames().isEmpty() && tools.builtInTools().isEmpty()) {
            return Rejection.plan("invalid_tool_choice", "tool_choice is required but the conversation offers no tools");
        }
        Constraint constraint;
        try {
            // A forced call's prompt ends inside the call (after "name\n"), so its output is the arguments
            // alone; required and auto constrain a call to an offered tool's parameters once it has begun.
            // Either way every emitted FunctionCall validates (see ToolCallValidator#callConstraint).
            constraint = tools.callConstraint(choice, responseFormat(prompt.responseFormat()), observationIds())
                    .orElse(null);
        } catch (IllegalArgumentException e) {
            return Rejection.plan("invalid_response_format", e.getMessage());
        }
        messages = choice.applyTo(messages);
        int[] tokens = extend(state.tokens, messages);
        int[] forced = choice.forcedPrefix(tokenizer);
        if (forced.length > 0) {
            tokens = Arrays.copyOf(tokens, tokens.length + forced.length);
            System.arraycopy(forced, 0, tokens, tokens.length - forced.length, forced.length);
        }
        return turn(state, prompt.requestId(), tokens, messages, toolsJson, choice, prompt.sampling(), false, constraint);
    }

    private TurnPlan planToolResult(ConversationState state, ToolResult result) {
        if (result.callId() == null || !result.callId().equals(state.pendingCallId)) {
            return Rejection.plan("no_pending_call", "tool result for call " + result.callId() + " of conversation "
                    + result.conversationId() + " answers no pending call"
                    + (state.pendingCallId == null ? " (none is pending)" : " (pending: " + state.pendingCallId + ")"));
        }
        List<ChatMessage> messages = List.of(ChatMessage.observation(result.content() == null ? "" : result.content()));
        return turn(state, state.pendingRequestId, extend(state.tokens, messages), messages, null, ToolChoice.auto(),
                null, true, null);
    }

    /**
     * The planned turn, its prompt fitted to the conversation's window ({@link GlmOptions#CONTEXT_OVERFLOW});
     * or a rejection when it cannot fit or leaves no room to answer.
     *
     * @param state             the conversation, or null for a raw completion (no history to cut)
     * @param continuesLastTurn the input continues the history's last turn (a tool result)
     */
    private TurnPlan turn(ConversationState state, String requestId, int[] tokens, List<ChatMessage> messages,
                          String toolsJson, ToolChoice choice, SamplingOverrides overrides, boolean continuesLastTurn,
                          Constraint constraint) {
        int maxTokens = maxTokens(overrides, config);
        ContextWindow.Cut cut = ContextWindow.Cut.NONE;
        if (state != null) {
            int window = config.getOptional(GlmOptions.MAX_CONTEXT_TOKENS).orElse(Math.max(1, contextTokens - maxTokens));
            if (tokens.length > window) {
                if (state.tokens.length == 0) {
                    return Rejection.plan("context_exceeded", "the turn is " + tokens.length + " tokens, more than the"
                            + " conversation's window of " + window + " (glm.conversation.max-context-tokens)");
                }
                ContextWindow.Fit fit = contextWindow.fit(state, messages, choice, continuesLastTurn,
                        config.get(GlmOptions.CONTEXT_OVERFLOW), window);
                if (fit.tokens() == null) {
                    return Rejection.plan("context_exceeded", fit.failure());
                }
                tokens = fit.tokens();
                cut = fit.cut();
            }
        }
        int room = contextTokens - tokens.length;
        if (room < 1) {
            return Rejection.plan("context_exceeded", "the prompt is " + tokens.length + " tokens but the model's"
                    + " context holds " + contextTokens + ", leaving no room to answer");
        }
        SamplingParams sampling;
        try {
            sampling = sampling(requestId, state == null ? 0 : state.generations, overrides, Math.min(maxTokens, room));
        } catch (IllegalArgumentException e) { // a job default out of range is caught here too, per turn
            return Rejection.plan("invalid_sampling", e.getMessage());
        }
        if (constraint != null && choice.forcedFunction().isEmpty() && constraint.kind() != Constraint.Kind.TOOL_CALL) {
            // A constrained answer is the answer itself: ending it on <|observation|> would read as a tool call.
            // (A tool call constraint decides per state: only a whole call may end on it.)
            int observation = tokenizer.findSpecialId("<|observation|>").orElse(-1);
            sampling = new SamplingParams(sampling.temperature(), sampling.topK(), sampling.topP(),
                    sampling.repetitionPenalty(), sampling.seed(), sampling.maxTokens(),
                    sampling.stopTokenIds().stream().filter(id -> id != observation).toList(), sampling.stopStrings());
        }
        return new Turn(requestId, tokens, messages, toolsJson, choice, sampling, state != null, cut, constraint);
    }

    /** The stop token that ends a GLM-4 tool call. */
    private Set<Integer> observationIds() {
        java.util.OptionalInt id = tokenizer.findSpecialId("<|observation|>");
        return id.isPresent() ? Set.of(id.getAsInt()) : Set.of();
    }

    /**
     * The most tokens a turn may generate before the context caps it: the prompt's {@code max_tokens} or the job
     * default, capped by {@link GlmOptions#MAX_TOKENS_LIMIT}.
     */
    static int maxTokens(SamplingOverrides overrides, ReadableConfig config) {
        int requested = overrides != null && overrides.maxTokens() != null ? overrides.maxTokens() : config.get(GlmOptions.MAX_TOKENS);
        return Math.min(requested, config.get(GlmOptions.MAX_TOKENS_LIMIT));
    }

    /**
     * The tokens a prompt's own text renders to: its text for {@code task: complete}, else its messages (with the
     * tools it carries, if asked) through the chat template, as the first turn of a conversation renders them.
     *
     * @throws IllegalArgumentException for messages or tools the chat template cannot render
     */
    static int[] ownTokens(Glm4Tokenizer tokenizer, Prompt prompt, boolean withTools) {
        if (prompt.task() == Task.COMPLETE) {
            return tokenizer.encode(prompt.text());
        }
        String tools = withTools ? prompt.tools() : null;
        return ChatTemplate.encode(tokenizer, Conversation.fromJson(conversationJson(prompt, tools)).messages(), true);
    }

    /** The prompt in the one JSON shape the runtime reads conversations from (as {@code bin/glm generate --messages}). */
    private static ObjectNode conversationJson(Prompt prompt, String toolsJson) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode messages = root.putArray("messages");
        if (prompt.text() != null) {
            messages.addObject().put("role", "user").put("content", prompt.text());
        } else {
            for (io.flinkglm.records.ChatMessage m : prompt.messages()) {
                ObjectNode node = messages.addObject().put("role", m.role()).put("content", m.content());
                // GLM-4 keeps one metadata string: the function name of an assistant's call.
                if (m.metadata() != null && m.metadata().get("name") != null) {
                    node.put("metadata", m.metadata().get("name"));
                }
            }
        }
        if (toolsJson != null) {
            JsonNode tools;
            try {
                tools = JSON.readTree(toolsJson);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new ChatFormatException("tools are not valid JSON: " + e.getOriginalMessage());
            }
            if (!tools.isArray()) {
                throw new ChatFormatException("tools must be a JSON array of tool definitions");
            }
            root.set("tools", tools);
        }
        return root;
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

    /**
     * The constraint of an OpenAI-style {@code response_format}: {@code {"type":"text"}} or absent for
     * none, {@code {"type":"json_object"}}, or {@code {"type":"json_schema","json_schema":{"schema":{..}}}}.
     *
     * @throws IllegalArgumentException naming what is wrong: not JSON, an unknown type, a missing or
     *     unsupported schema
     */
    static Constraint responseFormat(String responseFormat) {
        if (responseFormat == null) {
            return null;
        }
        JsonNode format;
        try {
            format = JSON.readTree(responseFormat);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("response_format is not valid JSON: " + e.getOriginalMessage());
        }
        String type = format == null ? "" : format.path("type").asText("");
        switch (type) {
            case "text":
                return null;
            case "json_object":
                return Constraint.jsonObject();
            case "json_schema":
                JsonNode schema = format.path("json_schema").get("schema");
                if (schema == null || !schema.isObject()) {
                    throw new IllegalArgumentException("response_format json_schema needs json_schema.schema, a JSON schema object");
                }
                return Constraint.jsonSchema(schema.toString());
            default:
                throw new IllegalArgumentException("response_format type '" + type
                        + "' is not one of text, json_object, json_schema");
        }
    }

    /** A prompt's tool_choice: "auto" (or absent), "none", "required", a function name, or OpenAI's JSON object form. */
    private static ToolChoice toolChoice(String choice) {
        if (choice == null || choice.equals("auto")) {
            return ToolChoice.auto();
        }
        if (choice.equals("none")) {
            return ToolChoice.none();
        }
        if (choice.equals("required")) {
            return ToolChoice.required();
        }
        if (!choice.strip().startsWith("{")) {
            return ToolChoice.function(choice);
        }
        try {
            return ToolChoice.fromOpenAi(JSON.readTree(choice));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("not valid JSON: " + e.getOriginalMessage());
        }
    }

    /** Out-of-range sampling values in wire terms; the same ranges {@link SamplingParams} enforces. */
    static List<String> samplingViolations(SamplingOverrides o) {
        List<String> broken = new ArrayList<>();
        if (o == null) {
            return broken;
        }
        if (o.maxTokens() != null && o.maxTokens() < 1) {
            broken.add("sampling.max_tokens must be at least 1, got " + o.maxTokens());
        }
        if (o.temperature() != null && !(o.temperature() >= 0 && Double.isFinite(o.temperature()))) {
            broken.add("sampling.temperature must be a finite number >= 0, got " + o.temperature());
        }
        if (o.topP() != null && !(o.topP() > 0 && o.topP() <= 1)) {
            broken.add("sampling.top_p must be in (0, 1], got " + o.topP());
        }
        if (o.topK() != null && o.topK() < 0) {
            broken.add("sampling.top_k must be >= 0 (0 keeps every token), got " + o.topK());
        }
        return broken;
    }

    private SamplingParams sampling(String requestId, int generation, SamplingOverrides o, int maxTokens) {
        SamplingParams.Builder b = SamplingParams.builder()
                .temperature(o != null && o.temperature() != null ? o.temperature() : config.get(GlmOptions.TEMPERATURE))
                .topP(o != null && o.topP() != null ? o.topP() : config.get(GlmOptions.TOP_P))
                .topK(o != null && o.topK() != null ? o.topK() : config.get(GlmOptions.TOP_K))
                .maxTokens(maxTokens)
                .stopTokenIds(stopIds);
        long seed = o != null && o.seed() != null ? o.seed() : seedOf(requestId);
        // Each generation step of a conversation draws from its own stream, the same on every replay.
        return b.seed(seed + 0x9E3779B97F4A7C15L * generation).build();
    }

    /** A stable 64-bit seed from a request id (FNV-1a): the same id gives the same tokens after a replay. */
    static long seedOf(String requestId) {
        return Fnv1a.hash64(requestId);
    }
}
