package io.flinkglm.records;

import java.util.Arrays;
import java.util.Objects;

/**
 * A record that could not be processed, with its original bytes and where it came from, for the DLQ topic.
 *
 * <pre>{@code
 * DeadLetter d = DeadLetter.of(bytes, "glm.prompts", 0, 42L, "invalid_json: Unexpected character", "decode");
 * }</pre>
 *
 * @param original the record value exactly as read; may be null for a tombstone
 * @param reason {@code <kind>: <detail>}, kind being one of {@code MalformedRecordException.Kind}'s codes
 * @param stage the pipeline step that gave up: {@code decode}, {@code inference}, ...
 * @param timestampMs when the record was rejected, epoch milliseconds
 */
public record DeadLetter(
        byte[] original, String topic, int partition, long offset, String reason, String stage, long timestampMs)
        implements WireRecord {

    /** A dead letter stamped with the current time. */
    public static DeadLetter of(byte[] original, String topic, int partition, long offset, String reason, String stage) {
        return new DeadLetter(original, topic, partition, offset, reason, stage, System.currentTimeMillis());
    }

    /** No key: dead letters have no conversation we can trust, so they spread over the DLQ's partitions. */
    @Override
    public String kafkaKey() {
        return null;
    }

    // A record compares arrays by reference; dead letters are compared by content in tests and dedup.
    @Override
    public boolean equals(Object o) {
        return o instanceof DeadLetter d
                && Arrays.equals(original, d.original)
                && Objects.equals(topic, d.topic)
                && partition == d.partition
                && offset == d.offset
                && Objects.equals(reason, d.reason)
                && Objects.equals(stage, d.stage)
                && timestampMs == d.timestampMs;
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(original), topic, partition, offset, reason, stage, timestampMs);
    }

    @Override
    public String toString() {
        return "DeadLetter[" + topic + "-" + partition + "@" + offset + ", " + stage + ", " + reason
                + ", " + (original == null ? "null" : original.length + " bytes") + "]";
    }
}
