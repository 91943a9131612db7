package io.flinkglm.operator;

import io.flinkglm.records.Completion;
import io.flinkglm.records.FunctionCall;
import io.flinkglm.runtime.engine.KvSnapshot;
import org.apache.flink.annotation.Internal;

/**
 * What one finished turn produces: exactly one of a completion, a function call or a rejection, and the
 * conversation as it is after the turn (null: unchanged, as after a rejection or a raw completion).
 *
 * @param kv the KV blocks the turn exported, to keep in state; or null to keep what is there
 */
@Internal
record TurnOutcome(ConversationState state, KvSnapshot kv, Completion completion, FunctionCall call, Rejection rejection) {

    TurnOutcome {
        int outputs = (completion != null ? 1 : 0) + (call != null ? 1 : 0) + (rejection != null ? 1 : 0);
        if (outputs != 1) {
            throw new IllegalArgumentException("a turn has exactly one output, not " + outputs);
        }
    }

    static TurnOutcome rejected(Rejection rejection) {
        return new TurnOutcome(null, null, null, null, rejection);
    }
}
