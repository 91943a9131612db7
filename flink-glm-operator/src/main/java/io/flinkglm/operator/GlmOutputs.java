package io.flinkglm.operator;

import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.FunctionCall;
import io.flinkglm.records.SafetyVerdict;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.util.OutputTag;

/** The side outputs of the GLM operators; the main output carries completions. */
@PublicEvolving
public final class GlmOutputs {
    private GlmOutputs() {}

    public static final OutputTag<FunctionCall> FUNCTION_CALLS = new OutputTag<>("glm-function-calls") {};
    public static final OutputTag<SafetyVerdict> SAFETY = new OutputTag<>("glm-safety") {};
    public static final OutputTag<DeadLetter> ERRORS = new OutputTag<>("glm-errors") {};
}
