package io.flinkglm.sql;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkglm.runtime.chat.AssistantReply;
import io.flinkglm.runtime.chat.ChatMessage;
import io.flinkglm.runtime.chat.ChatTemplate;
import io.flinkglm.runtime.chat.Conversation;
import io.flinkglm.operator.TenantScheduling;
import io.flinkglm.runtime.chat.ToolCallValidator;
import io.flinkglm.runtime.chat.ToolChoice;
import io.flinkglm.runtime.constraint.Constraint;
import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.SamplingParams;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.safety.SafetyClassifier;
import io.flinkglm.runtime.safety.SafetyPolicy;
import io.flinkglm.runtime.safety.SafetyVerdict;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import io.flinkglm.sql.GlmModelOptions.Task;
import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.data.ArrayData;
import org.apache.flink.table.data.GenericArrayData;
import org.apache.flink.table.data.GenericMapData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Turns one input row into one engine request, and the request's result into the task's output values:
 * the only place that knows what each task prompts and reads. Pure apart from the tokenizer; a row that
 * cannot become a request throws {@link RowRejected} with the reason its {@code error} column shows.
 */
@Internal
final class RowRequests {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CLASSIFY_ANSWER_PREFIX = "\nLabel:";

    /** A row that cannot be answered; its message is the row's error. */
    static final class RowRejected extends RuntimeException {
        RowRejected(String message) {
            super(message, null, false, false);
        }
    }

    /** One row's request and how to read its result. */
    record Prepared(GenerationRequest request, Function<GenerationResult, Map<OutputColumn, Object>> read) {}

    private final ModelSignature signature;
    private final Glm4Tokenizer tokenizer;
    private final ReadableConfig options;
    private final int contextTokens;
    private final List<Integer> stopIds;
    private final int observationId;
    private final Constraint answerFormat;       // chat, complete: what an answer must be; null: free text
    private final SafetyClassifier classifier;   // moderate only
    private final List<String> labels;           // classify only
    private final int[] labelTokenIds;           // classify only
    private final ChatMessage classifyInstructions;
    private final int[] classifyAnswerPrefix;

    RowRequests(ModelSignature signature, Glm4Model model, Glm4Tokenizer tokenizer,
                io.flinkglm.runtime.engine.InferenceEngine engine, ReadableConfig options) {
        this.signature = signature;
        this.tokenizer = tokenizer;
        this.options = options;
        this.contextTokens = model.config().maxPositions();
        List<Integer> stops = new ArrayList<>();
        Arrays.stream(tokenizer.stopIds()).forEach(stops::add);
        model.config().eosTokenIds().stream().filter(id -> !stops.contains(id)).forEach(stops::add);
        this.stopIds = List.copyOf(stops);
        this.observationId = tokenizer.findSpecialId("<|observation|>").orElse(-1);
        this.answerFormat = GlmModelProviderFactory.answerFormat(options);
        this.classifier = signature.task == Task.MODERATE ? new SafetyClassifier(engine, tokenizer, policy(options)) : null;
        if (signature.task == Task.CLASSIFY) {
            this.labels = GlmModelProviderFactory.labels(options);
            this.labelTokenIds = labelTokenIds(tokenizer, labels);
            String instructions = options.getOptional(GlmModelOptions.SYSTEM_PROMPT).orElse(
                    "Classify the text the user gives you. Answer with exactly one of the labels below.");
            this.classifyInstructions = ChatMessage.system(instructions + "\n\nLabels: " + String.join(", ", labels));
            this.classifyAnswerPrefix = tokenizer.encode(CLASSIFY_ANSWER_PREFIX);
        } else {
            this.labels = null;
            this.labelTokenIds = null;
            this.classifyInstructions = null;
            this.classifyAnswerPrefix = null;
        }
    }

    private static SafetyPolicy policy(ReadableConfig options) {
        return options.getOptional(GlmModelOptions.MODERATION_POLICY).map(p -> {
            try {
                return SafetyPolicy.load(Path.of(p));
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read safety policy " + p + " ("
                        + GlmModelOptions.MODERATION_POLICY.key() + "): " + e.getMessage(), e);
            }
        }).orElseGet(SafetyPolicy::glm4SafetyBench);
    }

    /** Each label is scored by its first token after the answer prefix (" positive"), so those must differ. */
    private static int[] labelTokenIds(Glm4Tokenizer tokenizer, List<String> labels) {
        int[] ids = new int[labels.size()];
        Map<Integer, String> seen = new HashMap<>();
        for (int i = 0; i < ids.length; i++) {
            ids[i] = tokenizer.encode(" " + labels.get(i))[0];
            String other = seen.putIfAbsent(ids[i], labels.get(i));
            if (other != null) {
                throw new IllegalArgumentException("labels '" + other + "' and '" + labels.get(i) + "' both start with"
                        + " token " + ids[i] + " '" + tokenizer.tokenText(ids[i]) + "'; classify scores a label by its"
                        + " first token, so give labels whose first tokens differ in this model's vocabulary");
            }
        }
        return ids;
    }

    Prepared prepare(String requestId, RowData row, long seed, long deadlineMillis) {
        return switch (signature.task) {
            case CHAT -> chat(requestId, row, seed, deadlineMillis);
            case COMPLETE -> generation(requestId, row, tokenizer.encode(text(row)), ToolChoice.none(), false, answerFormat,
                    seed, deadlineMillis);
            case MODERATE -> moderation(requestId, row, text(row), deadlineMillis);
            case CLASSIFY -> classification(requestId, row, text(row), deadlineMillis);
        };
    }

    /**
     * The row's engine priority and tenant, as the chat operator gives a prompt's: a NULL or absent column is
     * the engine's default priority and the default tenant.
     */
    private GenerationRequest.Builder scheduled(GenerationRequest.Builder request, RowData row) {
        if (signature.priorityIndex >= 0 && !row.isNullAt(signature.priorityIndex)) {
            int priority = row.getInt(signature.priorityIndex);
            TenantScheduling.priorityViolation(priority).ifPresent(reason -> {
                throw new RowRejected(reason);
            });
            request.priority(priority);
        }
        if (signature.tenantIndex >= 0 && !row.isNullAt(signature.tenantIndex)) {
            request.tenant(row.getString(signature.tenantIndex).toString());
        }
        return request;
    }

    private String text(RowData row) {
        if (row.isNullAt(signature.textIndex)) {
            throw new RowRejected("invalid_input: the text is NULL");
        }
        return row.getString(signature.textIndex).toString();
    }

    private Prepared chat(String requestId, RowData row, long seed, long deadlineMillis) {
        List<ChatMessage> messages;
        try {
            messages = Conversation.fromJson(conversationJson(row)).messages();
        } catch (IllegalArgumentException e) { // ChatFormatException included
            throw new RowRejected("invalid_messages: " + e.getMessage());
        }
        ToolChoice choice = ToolChoice.auto();
        Constraint constraint = answerFormat;
        if (signature.toolsIndex >= 0 && !row.isNullAt(signature.toolsIndex)) {
            // As the chat operator does: once the model has begun a call, its arguments follow the tool's schema.
            try {
                constraint = ToolCallValidator.fromJson(row.getString(signature.toolsIndex).toString())
                        .callConstraint(choice, answerFormat, Set.of(observationId)).orElse(null);
            } catch (IllegalArgumentException e) {
                throw new RowRejected("invalid_tools: " + e.getMessage());
            }
        }
        return generation(requestId, row, choice.encodePrompt(tokenizer, messages), choice, true, constraint, seed,
                deadlineMillis);
    }

    /** The row as the one JSON shape the runtime reads conversations from, so roles are checked in one place. */
    ObjectNode conversationJson(RowData row) {
        ObjectNode root = JSON.createObjectNode();
        ArrayNode messages = root.putArray("messages");
        options.getOptional(GlmModelOptions.SYSTEM_PROMPT)
                .ifPresent(s -> messages.addObject().put("role", "system").put("content", s));
        if (signature.textIndex >= 0) {
            messages.addObject().put("role", "user").put("content", text(row));
        } else {
            if (row.isNullAt(signature.messagesIndex)) {
                throw new RowRejected("invalid_messages: messages is NULL");
            }
            ArrayData array = row.getArray(signature.messagesIndex);
            if (array.size() == 0) {
                throw new RowRejected("invalid_messages: messages is empty");
            }
            for (int i = 0; i < array.size(); i++) {
                if (array.isNullAt(i)) {
                    throw new RowRejected("invalid_messages: message " + i + " is NULL");
                }
                RowData m = array.getRow(i, 2);
                if (m.isNullAt(0)) {
                    throw new RowRejected("invalid_messages: message " + i + " has no role");
                }
                messages.addObject().put("role", m.getString(0).toString())
                        .put("content", m.isNullAt(1) ? "" : m.getString(1).toString());
            }
        }
        if (signature.toolsIndex >= 0 && !row.isNullAt(signature.toolsIndex)) {
            JsonNode tools;
            try {
                tools = JSON.readTree(row.getString(signature.toolsIndex).toString());
            } catch (IOException e) {
                throw new RowRejected("invalid_tools: not valid JSON: " + e.getMessage());
            }
            if (!tools.isArray()) {
                throw new RowRejected("invalid_tools: tools must be a JSON array of tool definitions");
            }
            root.set("tools", tools);
        }
        return root;
    }

    private Prepared generation(String requestId, RowData row, int[] prompt, ToolChoice choice, boolean chat,
                                Constraint constraint, long seed, long deadlineMillis) {
        int room = contextTokens - prompt.length;
        if (room < 1) {
            throw new RowRejected("context_exceeded: the prompt is " + prompt.length + " tokens but the model's context"
                    + " holds " + contextTokens + ", leaving no room to answer");
        }
        // A constrained answer is the answer itself: ending it on <|observation|> would read as a tool call
        // (a tool call constraint decides that per state).
        List<Integer> stops = constraint == null || constraint.kind() == Constraint.Kind.TOOL_CALL ? stopIds
                : stopIds.stream().filter(id -> id != observationId).toList();
        SamplingParams sampling = sampling(options, stops, seed)
                .maxTokens(Math.min(options.get(GlmModelOptions.MAX_TOKENS), room)).build();
        GenerationRequest request = scheduled(GenerationRequest.builder(requestId, prompt).sampling(sampling)
                .constraint(constraint).deadlineMillis(deadlineMillis), row).build();
        return new Prepared(request, result -> {
            if (result.finishReason() != GenerationResult.FinishReason.STOP
                    && result.finishReason() != GenerationResult.FinishReason.LENGTH) {
                throw new RowRejected(ended(result));
            }
            Map<OutputColumn, Object> out = new EnumMap<>(OutputColumn.class);
            int[] tokens = result.outputTokens();
            String text = tokenizer.decode(tokens);
            AssistantReply reply = chat ? choice.parseReply(text, result.stopTokenId() == observationId)
                    : new AssistantReply.Text(text);
            if (reply instanceof AssistantReply.FunctionCall call) {
                out.put(OutputColumn.FUNCTION_NAME, StringData.fromString(call.name()));
                out.put(OutputColumn.FUNCTION_ARGUMENTS, StringData.fromString(call.rawArguments()));
                out.put(OutputColumn.FINISH_REASON, StringData.fromString("function_call"));
            } else {
                out.put(OutputColumn.RESPONSE, StringData.fromString(((AssistantReply.Text) reply).text()));
                out.put(OutputColumn.FINISH_REASON, StringData.fromString(
                        result.finishReason() == GenerationResult.FinishReason.STOP ? "stop" : "length"));
            }
            out.put(OutputColumn.COMPLETION_TOKENS, tokens.length);
            out.put(OutputColumn.PROMPT_TOKENS, result.promptTokens());
            return out;
        });
    }

    /** The sampling options of a model with a row's seed; the caller sets max tokens. Shared with tests' references. */
    static SamplingParams.Builder sampling(ReadableConfig options, List<Integer> stopIds, long seed) {
        return SamplingParams.builder()
                .temperature(options.get(GlmModelOptions.TEMPERATURE))
                .topP(options.get(GlmModelOptions.TOP_P))
                .topK(options.get(GlmModelOptions.TOP_K))
                .repetitionPenalty(options.get(GlmModelOptions.REPETITION_PENALTY))
                .stopStrings(options.getOptional(GlmModelOptions.STOP).orElse(List.of()))
                .stopTokenIds(stopIds)
                .seed(seed);
    }

    private Prepared moderation(String requestId, RowData row, String text, long deadlineMillis) {
        SafetyClassifier.Prepared p = classifier.prepare(requestId, text, SafetyVerdict.Checked.PROMPT);
        GenerationRequest request = scheduled(p.requestBuilder().deadlineMillis(deadlineMillis), row).build();
        checkFits(request);
        return new Prepared(request, result -> {
            if (result.finishReason() != GenerationResult.FinishReason.CLASSIFIED) {
                throw new RowRejected(ended(result));
            }
            SafetyVerdict v = p.verdict(result);
            Map<OutputColumn, Object> out = new EnumMap<>(OutputColumn.class);
            out.put(OutputColumn.FLAGGED, v.flagged());
            out.put(OutputColumn.CATEGORIES, new GenericArrayData(
                    v.flaggedCategories().stream().map(StringData::fromString).toArray()));
            out.put(OutputColumn.CATEGORY, StringData.fromString(v.topCategory()));
            out.put(OutputColumn.SCORES, scores(v.probabilities()));
            out.put(OutputColumn.OPENAI_SCORES, scores(v.openAiCategoryScores()));
            out.put(OutputColumn.PROMPT_TOKENS, result.promptTokens());
            return out;
        });
    }

    private Prepared classification(String requestId, RowData row, String text, long deadlineMillis) {
        int[] chat = ChatTemplate.encode(tokenizer, List.of(classifyInstructions, ChatMessage.user(text)), true);
        int[] prompt = Arrays.copyOf(chat, chat.length + classifyAnswerPrefix.length);
        System.arraycopy(classifyAnswerPrefix, 0, prompt, chat.length, classifyAnswerPrefix.length);
        GenerationRequest request = scheduled(GenerationRequest.builder(requestId, prompt).classify(labelTokenIds)
                .deadlineMillis(deadlineMillis), row).build();
        checkFits(request);
        return new Prepared(request, result -> {
            if (result.finishReason() != GenerationResult.FinishReason.CLASSIFIED) {
                throw new RowRejected(ended(result));
            }
            float[] p = result.classProbabilities();
            int best = 0;
            Map<String, Double> byLabel = new LinkedHashMap<>();
            for (int i = 0; i < p.length; i++) {
                byLabel.put(labels.get(i), (double) p[i]);
                best = p[i] > p[best] ? i : best;
            }
            Map<OutputColumn, Object> out = new EnumMap<>(OutputColumn.class);
            out.put(OutputColumn.LABEL, StringData.fromString(labels.get(best)));
            out.put(OutputColumn.SCORE, (double) p[best]);
            out.put(OutputColumn.SCORES, scores(byLabel));
            out.put(OutputColumn.PROMPT_TOKENS, result.promptTokens());
            return out;
        });
    }

    private void checkFits(GenerationRequest request) {
        if (request.promptTokens().length > contextTokens) {
            throw new RowRejected("context_exceeded: the prompt is " + request.promptTokens().length
                    + " tokens but the model's context holds " + contextTokens);
        }
    }

    /** Why a request that should have answered did not, as the row's error. */
    static String ended(GenerationResult result) {
        return switch (result.finishReason()) {
            case DEADLINE -> "timeout: the row took longer than its deadline";
            default -> "engine_" + result.finishReason().name().toLowerCase()
                    + (result.message() == null ? "" : ": " + result.message());
        };
    }

    private static GenericMapData scores(Map<String, Double> scores) {
        Map<StringData, Double> out = new LinkedHashMap<>();
        scores.forEach((k, v) -> out.put(StringData.fromString(k), v));
        return new GenericMapData(out);
    }
}
