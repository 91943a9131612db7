package io.flinkglm.runtime.engine;

import org.apache.flink.annotation.PublicEvolving;

/**
 * Thrown by {@link InferenceEngine#submit} when the waiting queue is at capacity. Callers that can
 * wait should check {@link InferenceEngine#hasCapacity()} or use {@link InferenceEngine#trySubmit}
 * and apply backpressure instead.
 *
 * <pre>{@code
 * try { engine.submit(request); } catch (EngineFullException e) { retryLater(request); }
 * }</pre>
 */
@PublicEvolving
public final class EngineFullException extends RuntimeException {
    public EngineFullException(int capacity) {
        super("inference engine queue is full (" + capacity + " waiting requests); wait for results"
                + " or raise maxQueuedRequests");
    }
}
