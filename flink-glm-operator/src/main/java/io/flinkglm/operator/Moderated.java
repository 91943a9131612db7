package io.flinkglm.operator;

import io.flinkglm.records.SafetyVerdict;
import org.apache.flink.annotation.PublicEvolving;

/**
 * A record with the safety verdict on its text, or the reason it could not be classified.
 *
 * @param <T> the checked record: a {@link ChatInput} or a {@code Completion}
 */
@PublicEvolving
public class Moderated<T> {
    public T value;
    public SafetyVerdict verdict; // null when error is set
    public String error;          // null when verdict is set

    public Moderated() {}

    Moderated(T value, SafetyVerdict verdict, String error) {
        this.value = value;
        this.verdict = verdict;
        this.error = error;
    }
}
