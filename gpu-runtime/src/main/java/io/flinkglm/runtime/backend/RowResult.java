package io.flinkglm.runtime.backend;

import org.apache.flink.annotation.PublicEvolving;

/**
 * What a step produced for one {@link RowSampling}: the drawn token, or for a classification row
 * the probabilities over its ids (token -1), or, when the row's logits came out non-finite, the
 * reason its request cannot go on (token -1). A failure belongs to that row alone: the other rows
 * of the step are unaffected.
 *
 * <pre>{@code
 * RowResult r = backend.step(kv, chunks, rows).get(0);
 * if (r.failed()) { ... r.error() ... } else { ... r.token() ... }
 * }</pre>
 */
@PublicEvolving
public record RowResult(int token, float[] probabilities, String error) {

    public static RowResult token(int token) {
        return new RowResult(token, null, null);
    }

    public static RowResult probabilities(float[] probabilities) {
        return new RowResult(-1, probabilities, null);
    }

    public static RowResult failed(String error) {
        return new RowResult(-1, null, error);
    }

    public boolean failed() {
        return error != null;
    }
}
