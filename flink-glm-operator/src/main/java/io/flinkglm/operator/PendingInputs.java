package io.flinkglm.operator;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.state.KeyedStateStore;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;

/**
 * The current conversation's inputs that have not produced output yet, oldest first, in keyed state. Its
 * head is the turn in flight (or the next to start). A FIFO over a map: adding or removing one input
 * writes that input only, not the whole list, so a conversation with many queued inputs costs the same
 * per turn as one with none.
 *
 * <p>A checkpoint therefore holds every unanswered input under its own key; after a restore, at any
 * parallelism, the conversations to resume are the keys of {@link #BOUNDS_STATE}.
 */
@Internal
final class PendingInputs {
    /** The state whose keys are exactly the conversations with pending inputs (cleared when a queue empties). */
    static final String BOUNDS_STATE = "pending-bounds";

    private final MapState<Long, ChatInput> inputs;
    private final ValueState<long[]> bounds; // [head, next]: the live entries are head .. next-1

    PendingInputs(KeyedStateStore store) {
        inputs = store.getMapState(new MapStateDescriptor<>("pending-inputs", Types.LONG, TypeInformation.of(ChatInput.class)));
        bounds = store.getState(new ValueStateDescriptor<>(BOUNDS_STATE, PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO));
    }

    /** Appends to the current key's queue; returns whether it was empty (so this input is the head). */
    boolean add(ChatInput input) throws Exception {
        long[] b = bounds.value();
        boolean wasEmpty = b == null;
        long next = wasEmpty ? 0 : b[1];
        inputs.put(next, input);
        bounds.update(new long[] {wasEmpty ? 0 : b[0], next + 1});
        return wasEmpty;
    }

    /** The current key's oldest input, or null. */
    ChatInput head() throws Exception {
        long[] b = bounds.value();
        return b == null ? null : inputs.get(b[0]);
    }

    /** Drops the head; returns whether more inputs wait. */
    boolean removeHead() throws Exception {
        long[] b = bounds.value();
        if (b == null) {
            return false;
        }
        inputs.remove(b[0]);
        if (b[0] + 1 >= b[1]) {
            bounds.clear();
            return false;
        }
        bounds.update(new long[] {b[0] + 1, b[1]});
        return true;
    }
}
