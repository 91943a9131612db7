package io.flinkglm.operator;

import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Origin;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.apache.flink.util.function.SerializableFunction;


/**
 * Acts on verdicts: every verdict goes to the safety output; a record that passed goes on; a
 * flagged one is answered by its refusal (a completion with finish_reason {@code content_filter})
 * or dropped; a record whose text could not be classified becomes a dead letter carrying the origin of
 * the input behind it, not onward (a check that cannot run does not wave a record through).
 */
class ModerationRouter<T> extends ProcessFunction<Moderated<T>, T> {
    private static final long serialVersionUID = 1L;
    /** Refusals of flagged records, to be merged into the completions. */
    static final OutputTag<Completion> REFUSALS = new OutputTag<>("glm-refusals") {};

    private final SerializableFunction<T, Completion> refusal; // null: drop flagged records
    private final SerializableFunction<T, Boolean> verdictOnly; // records answered by their verdict alone
    private final SerializableFunction<T, Origin> originOf; // where the input behind a record was read

    ModerationRouter(SerializableFunction<T, Completion> refusal, SerializableFunction<T, Boolean> verdictOnly,
                     SerializableFunction<T, Origin> originOf) {
        this.refusal = refusal;
        this.verdictOnly = verdictOnly;
        this.originOf = originOf;
    }

    @Override
    public void processElement(Moderated<T> m, Context context, Collector<T> out) throws Exception {
        if (m.error != null) {
            context.output(GlmOutputs.ERRORS, DeadLetter.of(originOf.apply(m.value), DeadLetter.Stage.MODERATE, m.error));
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
