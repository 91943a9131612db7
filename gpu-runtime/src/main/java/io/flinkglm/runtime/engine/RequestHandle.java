package io.flinkglm.runtime.engine;

import org.apache.flink.annotation.PublicEvolving;

import java.util.concurrent.CompletableFuture;

/**
 * A submitted request: its result, completed on the engine thread (attach non-blocking callbacks,
 * or use the {@code *Async} variants to move work elsewhere), and a way to cancel it.
 *
 * <pre>{@code
 * RequestHandle h = engine.submit(request);
 * h.result().thenAcceptAsync(r -> emit(r), executor);
 * h.cancel(); // finishes with CANCELLED unless already done
 * }</pre>
 */
@PublicEvolving
public final class RequestHandle {
    private final String requestId;
    private final CompletableFuture<GenerationResult> result;
    private final Runnable onCancel;

    RequestHandle(String requestId, CompletableFuture<GenerationResult> result, Runnable onCancel) {
        this.requestId = requestId;
        this.result = result;
        this.onCancel = onCancel;
    }

    public String requestId() {
        return requestId;
    }

    public CompletableFuture<GenerationResult> result() {
        return result;
    }

    /** Asks the engine to stop the request; its blocks are freed and the result says CANCELLED. */
    public void cancel() {
        onCancel.run();
    }
}
