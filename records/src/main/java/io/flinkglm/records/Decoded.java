package io.flinkglm.records;

import java.util.Objects;
import org.apache.flink.annotation.PublicEvolving;

/**
 * The outcome of reading one Kafka record: either a value with its {@link Origin}, or a dead letter.
 *
 * <p>Sources emit {@code Decoded<T>} instead of throwing, so a poison record cannot fail the job; a
 * downstream split sends values on (as {@link Sourced}) and dead letters to their topic.
 *
 * <pre>{@code
 * Decoded<Prompt> d = ...;
 * if (d.isValue()) handle(d.sourced()); else deadLetters.add(d.deadLetter());
 * }</pre>
 */
@PublicEvolving
public record Decoded<T>(T value, Origin origin, DeadLetter deadLetter) {

    public Decoded {
        if ((value == null) == (deadLetter == null)) {
            throw new IllegalArgumentException("Decoded holds exactly one of value and deadLetter");
        }
        if (value != null && origin == null) {
            throw new IllegalArgumentException("a decoded value needs its origin");
        }
    }

    public static <T> Decoded<T> value(T value, Origin origin) {
        return new Decoded<>(Objects.requireNonNull(value, "value"), Objects.requireNonNull(origin, "origin"), null);
    }

    public static <T> Decoded<T> deadLetter(DeadLetter deadLetter) {
        return new Decoded<>(null, null, Objects.requireNonNull(deadLetter, "deadLetter"));
    }

    public boolean isValue() {
        return value != null;
    }

    /** The value with where it was read; only for {@link #isValue()}. */
    public Sourced<T> sourced() {
        if (!isValue()) {
            throw new IllegalStateException("a dead letter has no value: " + deadLetter);
        }
        return new Sourced<>(value, origin);
    }
}
