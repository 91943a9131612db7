package io.flinkglm.operator;

import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.api.common.state.KeyedStateStore;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;

/**
 * A FIFO per key in keyed state, over a map: adding or removing one entry writes that entry only, not the whole
 * list, so a key with many queued entries costs the same per entry as one with none. The keys of the bounds state
 * are exactly the keys with entries (it is cleared when a queue empties).
 *
 * <pre>{@code
 * KeyedFifo<ChatInput> fifo = new KeyedFifo<>(store, "pending-inputs", "pending-bounds", TypeInformation.of(ChatInput.class));
 * if (fifo.add(input)) { ... this input is the head ... }
 * }</pre>
 */
@Internal
class KeyedFifo<T> {
    private final MapState<Long, T> entries;
    private final ValueState<long[]> bounds; // [head, next]: the live entries are head .. next-1

    /** An operator's FIFO (state from its initialization context). */
    KeyedFifo(KeyedStateStore store, String entriesState, String boundsState, TypeInformation<T> type) {
        entries = store.getMapState(entries(entriesState, type));
        bounds = store.getState(bounds(boundsState));
    }

    /** A keyed function's FIFO (state from its runtime context, which is no {@link KeyedStateStore}). */
    KeyedFifo(RuntimeContext context, String entriesState, String boundsState, TypeInformation<T> type) {
        entries = context.getMapState(entries(entriesState, type));
        bounds = context.getState(bounds(boundsState));
    }

    private static <T> MapStateDescriptor<Long, T> entries(String name, TypeInformation<T> type) {
        return new MapStateDescriptor<>(name, Types.LONG, type);
    }

    private static ValueStateDescriptor<long[]> bounds(String name) {
        return new ValueStateDescriptor<>(name, PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO);
    }

    /** Appends to the current key's queue; returns whether it was empty (so this entry is the head). */
    boolean add(T entry) throws Exception {
        long[] b = bounds.value();
        boolean wasEmpty = b == null;
        long next = wasEmpty ? 0 : b[1];
        entries.put(next, entry);
        bounds.update(new long[] {wasEmpty ? 0 : b[0], next + 1});
        return wasEmpty;
    }

    /** The current key's oldest entry, or null. */
    T head() throws Exception {
        long[] b = bounds.value();
        return b == null ? null : entries.get(b[0]);
    }

    /** Whether the current key's queue is empty. */
    boolean isEmpty() throws Exception {
        return bounds.value() == null;
    }

    /** Drops the head; returns whether more entries wait. */
    boolean removeHead() throws Exception {
        long[] b = bounds.value();
        if (b == null) {
            return false;
        }
        entries.remove(b[0]);
        if (b[0] + 1 >= b[1]) {
            bounds.clear();
            return false;
        }
        bounds.update(new long[] {b[0] + 1, b[1]});
        return true;
    }
}
