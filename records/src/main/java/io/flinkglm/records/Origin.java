package io.flinkglm.records;

import java.util.Arrays;
import java.util.Objects;
import org.apache.flink.annotation.PublicEvolving;

/**
 * Where a record was read and its value exactly as read, so that whatever stage gives up on it later
 * (planning, generation, moderation) can emit a dead letter that replays: the same bytes, to the same topic.
 *
 * <pre>{@code
 * Origin o = new Origin("glm.prompts", 0, 42L, valueBytes);
 * DeadLetter d = DeadLetter.of(o, DeadLetter.Stage.PLAN, "invalid_sampling: sampling.top_p must be in (0, 1], got 5.0");
 * }</pre>
 *
 * @param value the Kafka record value byte for byte; oversized values keep their first bytes only
 */
@PublicEvolving
public record Origin(String topic, int partition, long offset, byte[] value) {

    /** For records that did not come from Kafka (a DataStream of records built in the job). */
    public static Origin none() {
        return new Origin(null, -1, -1L, null);
    }

    // A record compares arrays by reference; origins are compared by content (state equality, tests).
    @Override
    public boolean equals(Object o) {
        return o instanceof Origin other
                && Objects.equals(topic, other.topic)
                && partition == other.partition
                && offset == other.offset
                && Arrays.equals(value, other.value);
    }

    @Override
    public int hashCode() {
        return Objects.hash(topic, partition, offset, Arrays.hashCode(value));
    }

    @Override
    public String toString() {
        return topic + "-" + partition + "@" + offset + " (" + (value == null ? "no value" : value.length + " bytes") + ")";
    }
}
