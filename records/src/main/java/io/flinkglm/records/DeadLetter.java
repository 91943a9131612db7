package io.flinkglm.records;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Arrays;
import java.util.Objects;
import org.apache.flink.annotation.PublicEvolving;

/**
 * A record that could not be served, with its original bytes and where it came from, for the DLQ topic.
 * Whatever stage gives up, the dead letter carries the {@link Origin} of the input that caused it, so the
 * record can be fixed and replayed to the same topic.
 *
 * <pre>{@code
 * DeadLetter d = DeadLetter.of(origin, DeadLetter.Stage.DECODE, "invalid_json: Unexpected character");
 * }</pre>
 *
 * @param original the record value exactly as read; null for a tombstone or an input not read from Kafka
 * @param topic where it was read; null for an input not read from Kafka
 * @param reason {@code <kind>: <detail>}, kinds listed in {@code records/RECORDS.md}
 * @param stage the pipeline step that gave up
 * @param timestampMs when the record was rejected, epoch milliseconds
 */
@PublicEvolving
public record DeadLetter(
        byte[] original, String topic, int partition, long offset, String reason, Stage stage, long timestampMs)
        implements WireRecord {

    /** The step of the pipeline that gave up on a record; on the wire the lower-case names. */
    @PublicEvolving
    public enum Stage {
        /** The source: the bytes are not a record (bad UTF-8, JSON, Avro framing, a broken rule). */
        @JsonProperty("decode") DECODE,
        /** The conversation core: the record cannot become a turn (sampling out of range, no pending call, ...). */
        @JsonProperty("plan") PLAN,
        /** The engine refused the turn (a prompt past the context). */
        @JsonProperty("submit") SUBMIT,
        /** Generation did not finish (deadline, non-finite logits, cancelled). */
        @JsonProperty("generate") GENERATE,
        /** The generated reply could not become an output. */
        @JsonProperty("reply") REPLY,
        /** The model called a function the tools do not allow, or with arguments that break its schema. */
        @JsonProperty("function-call") FUNCTION_CALL,
        /** The text could not be classified. */
        @JsonProperty("moderate") MODERATE,
        /** The tenant's token budget has no room for the turn ({@code budget_exceeded}). */
        @JsonProperty("budget") BUDGET
    }

    /** A dead letter for the record read at {@code origin}, stamped with the current time. */
    public static DeadLetter of(Origin origin, Stage stage, String reason) {
        return new DeadLetter(origin.value(), origin.topic(), origin.partition(), origin.offset(), reason, stage,
                System.currentTimeMillis());
    }

    /** No key: dead letters have no conversation we can trust, so they spread over the DLQ's partitions. */
    @Override
    public String kafkaKey() {
        return null;
    }

    /** Where the rejected record was read. */
    public Origin origin() {
        return new Origin(topic, partition, offset, original);
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
                && stage == d.stage
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
