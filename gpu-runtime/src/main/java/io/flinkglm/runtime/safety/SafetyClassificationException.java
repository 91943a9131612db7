package io.flinkglm.runtime.safety;

import org.apache.flink.annotation.PublicEvolving;

/**
 * A safety request produced no verdict: it was cancelled, missed its deadline or failed in the engine.
 * The text was not judged; the caller decides whether that blocks it (fail closed) or not.
 *
 * <pre>{@code
 * classifier.classify(id, text, Checked.PROMPT).exceptionally(e -> failClosed(id, e));
 * }</pre>
 */
@PublicEvolving
public final class SafetyClassificationException extends RuntimeException {
    public SafetyClassificationException(String message) {
        super(message);
    }
}
