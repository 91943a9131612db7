package io.flinkglm.records;

import com.fasterxml.jackson.annotation.JsonProperty;
import org.apache.flink.annotation.PublicEvolving;

/**
 * Why a {@link Completion} ended; on the wire the lower-case names. These are all the values emitted.
 *
 * <p>A turn that ends in a call of the application's function is not a completion: it is a
 * {@link FunctionCall} on its own topic (OpenAI's {@code tool_calls}). A turn that fails is not a
 * completion either: it is a {@link DeadLetter} with the stage and the reason.
 */
@PublicEvolving
public enum FinishReason {
    /** The model ended its answer (a stop token or stop sequence). */
    @JsonProperty("stop") STOP,
    /** The answer reached its token limit: the request's max tokens, the job's limit or the context. */
    @JsonProperty("length") LENGTH,
    /** Moderation withheld the text (a flagged prompt refused, or a flagged completion); {@code text} is null. */
    @JsonProperty("content_filter") CONTENT_FILTER
}
