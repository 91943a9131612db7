package io.flinkglm.operator;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.state.KeyedStateStore;
import org.apache.flink.api.common.typeinfo.TypeInformation;

/**
 * The current conversation's inputs that have not produced output yet, oldest first, in keyed state. Its
 * head is the turn in flight (or the next to start).
 *
 * <p>A checkpoint therefore holds every unanswered input under its own key; after a restore, at any
 * parallelism, the conversations to resume are the keys of {@link #BOUNDS_STATE}.
 */
@Internal
final class PendingInputs extends KeyedFifo<ChatInput> {
    /** The state whose keys are exactly the conversations with pending inputs (cleared when a queue empties). */
    static final String BOUNDS_STATE = "pending-bounds";

    PendingInputs(KeyedStateStore store) {
        super(store, "pending-inputs", BOUNDS_STATE, TypeInformation.of(ChatInput.class));
    }
}
