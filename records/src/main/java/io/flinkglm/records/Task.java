package io.flinkglm.records;

import com.fasterxml.jackson.annotation.JsonProperty;
import org.apache.flink.annotation.PublicEvolving;

/**
 * What a {@link Prompt} asks for. On the wire the names are lower case: {@code "task": "chat"}.
 *
 * <pre>{@code
 * if (prompt.task() == Task.MODERATE) { ... }
 * }</pre>
 */
@PublicEvolving
public enum Task {
    /** Apply the chat template to {@code messages} (or {@code text} as one user turn) and answer. */
    @JsonProperty("chat") CHAT,
    /** Continue {@code text} as raw completion, no chat template. */
    @JsonProperty("complete") COMPLETE,
    /** Only score the prompt for safety; the answer is a {@link SafetyVerdict}, not a {@link Completion}. */
    @JsonProperty("moderate") MODERATE
}
