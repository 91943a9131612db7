package io.flinkglm.records;

import java.util.Objects;

/**
 * The outcome of reading one Kafka record: either a value or a dead letter, never both.
 *
 * <p>Sources emit {@code Decoded<T>} instead of throwing, so a poison record cannot fail the job; a
 * downstream {@code DecodedSplit} sends values on and dead letters to their topic.
 *
 * <pre>{@code
 * Decoded<Prompt> d = ...;
 * if (d.isValue()) handle(d.value()); else deadLetters.add(d.deadLetter());
 * }</pre>
 */
public record Decoded<T>(T value, DeadLetter deadLetter) {

    public Decoded {
        if ((value == null) == (deadLetter == null)) {
            throw new IllegalArgumentException("Decoded holds exactly one of value and deadLetter");
        }
    }

    public static <T> Decoded<T> value(T value) {
        return new Decoded<>(Objects.requireNonNull(value, "value"), null);
    }

    public static <T> Decoded<T> deadLetter(DeadLetter deadLetter) {
        return new Decoded<>(null, Objects.requireNonNull(deadLetter, "deadLetter"));
    }

    public boolean isValue() {
        return value != null;
    }
}
