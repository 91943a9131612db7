package io.flinkglm.runtime.chat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaException;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.flinkglm.runtime.constraint.Constraint;
import org.apache.flink.annotation.PublicEvolving;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Checks a generated {@link AssistantReply.FunctionCall} against the tools the request offered: the
 * name must be a declared function or an enabled built-in, and a function's arguments must be a JSON
 * object that satisfies its {@code parameters} JSON schema (draft 2020-12 unless the schema names
 * another {@code $schema}). Model output never makes it throw; a bad call comes back as
 * {@link ValidatedToolCall.Invalid}. Bad tool <em>definitions</em> are the caller's mistake and fail the
 * constructor.
 *
 * <pre>{@code
 * ToolCallValidator validator = ToolCallValidator.fromJson("""
 *     [{"type": "function", "function": {"name": "get_weather", "description": "...",
 *       "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
 *                      "required": ["location"]}}},
 *      {"type": "python"}]""");
 * ValidatedToolCall checked = validator.validate(call);
 * }</pre>
 *
 * <p>Thread-safe: schemas are compiled once here and only read afterwards.
 */
@PublicEvolving
public final class ToolCallValidator {
    /** The tools GLM-4 knows without a schema; their input is free text. */
    public static final List<String> BUILT_IN_TOOLS = List.of("python", "simple_browser", "cogview");

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonSchemaFactory SCHEMAS = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);

    /** Declared function name to its compiled parameters schema; null schema = any JSON object. */
    private final Map<String, JsonSchema> functions = new LinkedHashMap<>();
    private final Set<String> builtIns = new LinkedHashSet<>();
    /** Declared function name to its parameters schema as written (absent: none declared). */
    private final Map<String, String> parameterSchemas = new LinkedHashMap<>();

    /**
     * @param tools OpenAI-style tool definitions ({@code {"type": "function", "function": {name,
     *              description, parameters}}}) and built-ins ({@code {"type": "python"}} etc.)
     * @throws IllegalArgumentException for a definition that is malformed, duplicated, or whose schema does not compile
     */
    public ToolCallValidator(List<JsonNode> tools) {
        for (JsonNode tool : tools) {
            String type = tool.path("type").asText();
            if (type.equals("function")) {
                addFunction(tool);
            } else if (BUILT_IN_TOOLS.contains(type)) {
                builtIns.add(type);
            } else {
                throw new IllegalArgumentException("tool of unknown type '" + type + "': " + tool
                        + " (expected \"function\" or one of the built-ins " + BUILT_IN_TOOLS + ")");
            }
        }
    }

    /** A validator for a JSON array of tool definitions, as in an OpenAI request's {@code tools}. */
    public static ToolCallValidator fromJson(String toolsArray) {
        JsonNode tools;
        try {
            tools = JSON.readTree(toolsArray);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("tools are not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (tools == null || !tools.isArray()) {
            throw new IllegalArgumentException("tools must be a JSON array of tool definitions, got " + tools);
        }
        List<JsonNode> list = new ArrayList<>();
        tools.forEach(list::add);
        return new ToolCallValidator(list);
    }

    /** Declared function names, in definition order. */
    public Set<String> functionNames() {
        return Collections.unmodifiableSet(functions.keySet());
    }

    /** Enabled built-in tools. */
    public Set<String> builtInTools() {
        return Collections.unmodifiableSet(builtIns);
    }

    /** Checks one generated call; a function of the same name as a built-in wins, since it was declared. */
    public ValidatedToolCall validate(AssistantReply.FunctionCall call) {
        String name = call.name();
        String raw = call.rawArguments();
        if (functions.containsKey(name)) {
            return validateArguments(name, raw, call.arguments(), functions.get(name));
        }
        if (builtIns.contains(name)) {
            return new ValidatedToolCall.BuiltIn(name, raw);
        }
        String known = functions.isEmpty() && builtIns.isEmpty() ? "no tools were offered"
                : "offered: " + String.join(", ", offered());
        return invalid(name, raw, ValidatedToolCall.Reason.UNKNOWN_TOOL,
                "the model called '" + name + "', which is not an offered tool; " + known);
    }

    /**
     * Checks a call under a tool choice: with {@code none} no call is allowed, with a named function
     * only that one; then as {@link #validate(AssistantReply.FunctionCall)}.
     */
    public ValidatedToolCall validate(AssistantReply.FunctionCall call, ToolChoice choice) {
        if (choice.isNone()) {
            return invalid(call.name(), call.rawArguments(), ValidatedToolCall.Reason.NOT_ALLOWED,
                    "the model called '" + call.name() + "' but tool_choice is none");
        }
        if (choice.forcedFunction().isPresent() && !choice.forcedFunction().get().equals(call.name())) {
            return invalid(call.name(), call.rawArguments(), ValidatedToolCall.Reason.NOT_ALLOWED,
                    "the model called '" + call.name() + "' but tool_choice forces '" + choice.forcedFunction().get() + "'");
        }
        return validate(call);
    }

    private ValidatedToolCall validateArguments(String name, String raw, JsonNode arguments, JsonSchema schema) {
        if (arguments == null) {
            return invalid(name, raw, ValidatedToolCall.Reason.INVALID_JSON,
                    "arguments of '" + name + "' are not one JSON value: " + jsonError(raw));
        }
        if (!arguments.isObject()) {
            return invalid(name, raw, ValidatedToolCall.Reason.SCHEMA_VIOLATION,
                    "arguments of '" + name + "' must be a JSON object but are " + arguments.getNodeType().name().toLowerCase());
        }
        if (schema != null) {
            Set<ValidationMessage> errors;
            try {
                errors = schema.validate(arguments);
            } catch (RuntimeException e) { // e.g. an unresolvable $ref met only on this input
                return invalid(name, raw, ValidatedToolCall.Reason.SCHEMA_VIOLATION,
                        "arguments of '" + name + "' could not be checked against its schema: " + e.getMessage());
            }
            if (!errors.isEmpty()) {
                List<String> violations = errors.stream().map(ValidationMessage::getMessage).sorted().toList();
                return new ValidatedToolCall.Invalid(name, raw, ValidatedToolCall.Reason.SCHEMA_VIOLATION,
                        "arguments of '" + name + "' fail its parameters schema: " + String.join("; ", violations),
                        violations);
            }
        }
        return new ValidatedToolCall.Function(name, arguments, raw);
    }

    /**
     * The {@code parameters} JSON schema of declared function {@code name} as text, for constraining a
     * forced call's arguments; empty when the function declares none (any object) or is not declared.
     */
    public Optional<String> parametersSchema(String name) {
        return Optional.ofNullable(parameterSchemas.get(name));
    }

    /**
     * The output constraint of an assistant turn under {@code choice}, or empty for none:
     * <ul>
     *   <li>a named function: its arguments under its {@code parameters} schema (any JSON object when it
     *       declares none; a built-in's free text is left free), since the prompt already ends with
     *       {@code name\n} ({@link ToolChoice#forcedPrefix});
     *   <li>{@code required}: a call {@code name\n{arguments}} to one of the offered tools, arguments under
     *       that tool's schema;
     *   <li>{@code auto} with tools offered: an answer under {@code answer} (null: free text), or, once the
     *       output has begun {@code name\n} of an offered tool, that call with valid arguments;
     *   <li>{@code none}, or {@code auto} without tools: {@code answer}, which may be null.
     * </ul>
     *
     * @param callEndTokenIds the stop tokens that end a call ({@code <|observation|>}); with {@code auto}
     *                        only a call may end on them, so the stop token tells a call from an answer
     * @throws IllegalArgumentException when a schema uses a keyword outside the supported subset, naming it
     */
    public Optional<Constraint> callConstraint(
            ToolChoice choice, Constraint answer, Set<Integer> callEndTokenIds) {
        if (choice.forcedFunction().isPresent()) {
            String name = choice.forcedFunction().get();
            return functions.containsKey(name) ? Optional.of(arguments(name)) : Optional.empty();
        }
        if (choice.isNone() || (choice.isAuto() && offered().isEmpty())) {
            return Optional.ofNullable(answer);
        }
        if (choice.isRequired() && offered().isEmpty()) {
            throw new IllegalArgumentException("tool_choice is required but no tools are offered");
        }
        Map<String, Constraint> tools = new LinkedHashMap<>();
        for (String name : offered()) {
            tools.putIfAbsent(name, functions.containsKey(name) ? arguments(name) : null); // a built-in's input is free text
        }
        return Optional.of(Constraint.toolCall(
                tools, choice.isRequired(), answer, callEndTokenIds));
    }

    /** The constraint of declared function {@code name}'s arguments: its schema, or any JSON object. */
    private Constraint arguments(String name) {
        return parametersSchema(name).map(Constraint::jsonSchema)
                .orElseGet(Constraint::jsonObject);
    }

    private void addFunction(JsonNode tool) {
        JsonNode function = tool.path("function");
        String name = function.path("name").asText("");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("function tool without a name: " + tool);
        }
        if (functions.containsKey(name)) {
            throw new IllegalArgumentException("function '" + name + "' is declared twice");
        }
        JsonNode parameters = function.get("parameters");
        if (parameters == null || parameters.isNull()) {
            functions.put(name, null); // OpenAI: no parameters means the function takes none; any object passes
            return;
        }
        if (!parameters.isObject()) {
            throw new IllegalArgumentException("parameters of function '" + name + "' must be a JSON schema object, got " + parameters);
        }
        parameterSchemas.put(name, parameters.toString());
        try {
            functions.put(name, SCHEMAS.getSchema(parameters));
        } catch (JsonSchemaException | IllegalArgumentException e) {
            throw new IllegalArgumentException("parameters schema of function '" + name + "' does not compile: " + e.getMessage(), e);
        }
    }

    private List<String> offered() {
        List<String> names = new ArrayList<>(functions.keySet());
        names.addAll(builtIns);
        return names;
    }

    private static String jsonError(String raw) {
        try {
            JSON.readTree(raw);
            return "text follows the JSON value";
        } catch (JsonProcessingException e) {
            return e.getOriginalMessage();
        }
    }

    private static ValidatedToolCall.Invalid invalid(String name, String raw, ValidatedToolCall.Reason reason, String message) {
        return new ValidatedToolCall.Invalid(name, raw, reason, message, List.of());
    }
}
