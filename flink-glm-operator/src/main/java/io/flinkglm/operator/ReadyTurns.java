package io.flinkglm.operator;

import io.flinkglm.runtime.engine.RequestHandle;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.annotation.Internal;

/**
 * The operator's scheduling state, on the task thread only: conversations whose next turn is ready and
 * waits for a slot (oldest first), and the turns in flight in the engine (at most {@code capacity}).
 * Not checkpointed: after a restore, every conversation with pending inputs is ready again.
 */
@Internal
final class ReadyTurns {
    private final int capacity;
    private final ArrayDeque<String> ready = new ArrayDeque<>();
    private final Map<String, RequestHandle> inFlight = new HashMap<>();
    /** A retry timer is registered for an engine whose queue was full. */
    private boolean retryPending;

    ReadyTurns(int capacity) {
        this.capacity = capacity;
    }

    void offer(String conversation) {
        ready.add(conversation);
    }

    /** The next conversation to start, or null when none is ready or every slot is taken. */
    String pollStartable() {
        return inFlight.size() < capacity ? ready.poll() : null;
    }

    /** The engine's queue was full: {@code conversation} goes back to the front. */
    void putBack(String conversation) {
        ready.addFirst(conversation);
    }

    void started(String conversation, RequestHandle handle) {
        inFlight.put(conversation, handle);
    }

    void finished(String conversation) {
        inFlight.remove(conversation);
    }

    int inFlight() {
        return inFlight.size();
    }

    boolean hasWaiting() {
        return !ready.isEmpty();
    }

    boolean isIdle() {
        return inFlight.isEmpty() && ready.isEmpty();
    }

    /** Marks a retry as scheduled; false if one already was. */
    boolean scheduleRetry() {
        if (retryPending) {
            return false;
        }
        retryPending = true;
        return true;
    }

    void retryFired() {
        retryPending = false;
    }

    void cancelAll() {
        inFlight.values().forEach(RequestHandle::cancel);
        inFlight.clear();
        ready.clear();
    }
}
