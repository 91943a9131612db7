package io.flinkglm.operator;

import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.apache.flink.util.function.SerializableFunction;

import java.nio.charset.StandardCharsets;

/**
 * Acts on verdicts: every verdict goes to the safety output; a record that passed goes on; a
 * flagged one is answered by its refusal (a completion with finish_reason {@code content_filter})
 * or dropped; a record whose text could not be classified goes to the errors, not onward (a check
 * that cannot run does not wave a record through).
 */
class ModerationRouter<T> extends ProcessFunction<Moderated<T>, T> {
    private static final long serialVersionUID = 1L;
    /** Refusals of flagged records, to be merged into the completions. */
    static final OutputTag<Completion> REFUSALS = new OutputTag<>("glm-refusals") {};

    private final SerializableFunction<T, Completion> refusal; // null: drop flagged records
    private final SerializableFunction<T, Boolean> verdictOnly; // records answered by their verdict alone

    ModerationRouter(SerializableFunction<T, Completion> refusal, SerializableFunction<T, Boolean> verdictOnly) {
        this.refusal = refusal;
        this.verdictOnly = verdictOnly;
    }

    @Override
    public void processElement(Moderated<T> m, Context context, Collector<T> out) throws Exception {
        if (m.error != null) {
            context.output(GlmOutputs.ERRORS, DeadLetter.of(String.valueOf(m.value).getBytes(StandardCharsets.UTF_8),
                    null, -1, -1, m.error, "moderate"));
            return;
        }
        if (m.verdict != null) {
            context.output(GlmOutputs.SAFETY, m.verdict);
        }
        if (verdictOnly.apply(m.value)) {
            return;
        }
        if (m.verdict != null && m.verdict.flagged()) {
            if (refusal != null) {
                context.output(REFUSALS, refusal.apply(m.value));
            }
            return;
        }
        out.collect(m.value);
    }
}
