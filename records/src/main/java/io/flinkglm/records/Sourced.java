package io.flinkglm.records;

import java.util.Map;
import java.util.Objects;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.annotation.PublicEvolving;

/**
 * A record together with where it was read. Sources emit these, so the bytes and coordinates reach
 * every later stage that might have to turn the record into a {@link DeadLetter}.
 *
 * <pre>{@code
 * DataStream<Sourced<Prompt>> prompts = pipeline.read(Prompt.class);
 * prompts.map(ChatInput::of, ...);
 * }</pre>
 */
@PublicEvolving
public record Sourced<T>(T value, Origin origin) {

    public Sourced {
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(origin, "origin");
    }

    /** Flink type information for {@code Sourced<T>}: a POJO of two POJOs, so no Kryo fallback. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static <T> TypeInformation<Sourced<T>> typeInfo(Class<T> type) {
        return (TypeInformation) Types.POJO(Sourced.class, Map.of(
                "value", TypeInformation.of(type), "origin", TypeInformation.of(Origin.class)));
    }

    /** A record built in the job rather than read from Kafka. */
    public static <T> Sourced<T> unsourced(T value) {
        return new Sourced<>(value, Origin.none());
    }
}
