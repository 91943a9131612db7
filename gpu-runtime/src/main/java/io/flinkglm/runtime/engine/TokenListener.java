package io.flinkglm.runtime.engine;

import org.apache.flink.annotation.PublicEvolving;

/**
 * Receives a request's tokens as they are sampled, on the engine thread: it must return quickly
 * and never block (hand the token to a queue or a mailbox).
 *
 * <pre>{@code
 * TokenListener l = (requestId, token, index) -> mailbox.execute(() -> emit(requestId, token));
 * }</pre>
 */
@PublicEvolving
@FunctionalInterface
public interface TokenListener {
    /** Called once per output token, {@code index} counting from 0; stop tokens are not reported. */
    void onToken(String requestId, int token, int index);
}
