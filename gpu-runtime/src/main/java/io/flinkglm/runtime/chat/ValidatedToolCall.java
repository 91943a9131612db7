package io.flinkglm.runtime.chat;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.annotation.PublicEvolving;
import java.util.List;

/**
 * A generated function call checked against the request's tools: a call to a declared function with
 * arguments that satisfy its schema, a call to one of GLM-4's built-in tools (whose argument is free
 * text, e.g. Python code), or an invalid call with the reason, kept as data so the operator can route
 * it (retry, side output, error observation) instead of failing the job.
 *
 * <pre>{@code
 * switch (validator.validate(call)) {
 *     case ValidatedToolCall.Function f -> invoke(f.name(), f.arguments());
 *     case ValidatedToolCall.BuiltIn b -> runBuiltIn(b.tool(), b.rawText());
 *     case ValidatedToolCall.Invalid bad -> sideOutput(bad.reason() + ": " + bad.message());
 * }
 * }</pre>
 */
@PublicEvolving
public sealed interface ValidatedToolCall
        permits ValidatedToolCall.Function, ValidatedToolCall.BuiltIn, ValidatedToolCall.Invalid {

    /** The tool name as generated. */
    String name();

    /** The argument text as generated, after the name line. */
    String rawArguments();

    default boolean isValid() {
        return !(this instanceof Invalid);
    }

    /** A call to a declared function; {@code arguments} is a JSON object that satisfies its parameters schema. */
    record Function(String name, JsonNode arguments, String rawArguments) implements ValidatedToolCall {}

    /**
     * A call to a built-in tool ({@code python}, {@code simple_browser}, {@code cogview}). GLM-4 writes
     * their input as text, not JSON: Python code, {@code search("...")}, an English image description.
     */
    record BuiltIn(String name, String rawArguments) implements ValidatedToolCall {
        /** The tool's input as the model wrote it. */
        public String rawText() {
            return rawArguments;
        }
    }

    /**
     * A call that cannot be executed.
     *
     * @param violations for {@link Reason#SCHEMA_VIOLATION}: one line per failed schema rule; else empty
     */
    record Invalid(String name, String rawArguments, Reason reason, String message, List<String> violations)
            implements ValidatedToolCall {
        public Invalid {
            violations = List.copyOf(violations);
        }
    }

    /** Why a call is invalid. */
    enum Reason {
        /** The name is not a declared function nor an enabled built-in tool. */
        UNKNOWN_TOOL,
        /** A function's arguments are not one JSON value (broken JSON, or text after it). */
        INVALID_JSON,
        /** The arguments are JSON but not an object, or fail the function's parameters schema. */
        SCHEMA_VIOLATION,
        /** The request's tool choice does not allow this call (tools disabled, or another function forced). */
        NOT_ALLOWED
    }
}
