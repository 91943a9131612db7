package io.flinkglm.operator;

import io.flinkglm.records.DeadLetter;
import org.apache.flink.annotation.Internal;

/**
 * Why the conversation core could not serve one input: the stage that gave up and the reason, as
 * {@code <kind>: <detail>}. A value, never an exception: the operator turns it into exactly one
 * {@link DeadLetter} carrying the input's origin, and the conversation goes on.
 */
@Internal
record Rejection(DeadLetter.Stage stage, String reason) implements TurnPlan {

    static Rejection plan(String kind, String detail) {
        return new Rejection(DeadLetter.Stage.PLAN, kind + ": " + detail);
    }
}
