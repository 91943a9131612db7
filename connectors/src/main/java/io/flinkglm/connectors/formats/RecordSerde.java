package io.flinkglm.connectors.formats;

import io.flinkglm.records.WireRecord;
import io.flinkglm.connectors.registry.SchemaRegistryClient;
import io.flinkglm.connectors.registry.SchemaRegistryConfig;
import java.io.IOException;
import org.apache.flink.annotation.PublicEvolving;

/**
 * Turns one record type into Kafka value bytes and back. There are two implementations, one per
 * {@link RecordFormat}, each generic over the record class: both map records to a Jackson tree with
 * {@link WireJson}, so field names, enums and validation are defined once for every record.
 *
 * <pre>{@code
 * RecordSerde<Prompt> serde = RecordSerde.create(Prompt.class, RecordFormat.JSON, null, "glm.prompts");
 * Prompt p = serde.decode(serde.encode(prompt));
 * }</pre>
 */
@PublicEvolving
public interface RecordSerde<T extends WireRecord> {

    byte[] encode(T record) throws IOException;

    /**
     * @throws MalformedRecordException when the bytes are not a valid {@code T}; the record is poison
     * @throws IOException when something outside the record failed (schema registry unreachable); retrying
     *     may succeed, so the caller should fail and restart rather than dead-letter a good record
     */
    T decode(byte[] value) throws MalformedRecordException, IOException;

    /**
     * A serde for {@code type} in {@code format}. For Avro, {@code registry} resolves writer schemas and
     * registers the reader's schema under {@code <topic>-value} (Confluent's TopicNameStrategy).
     */
    static <T extends WireRecord> RecordSerde<T> create(
            Class<T> type, RecordFormat format, SchemaRegistryClient registry, String topic) {
        return switch (format) {
            case JSON -> new JsonRecordSerde<>(type);
            case AVRO -> new AvroRecordSerde<>(type, registry, topic + "-value");
        };
    }

    /**
     * As {@link #create}, from the registry's settings rather than a client: what a Kafka schema
     * holds, since a client is not serializable and is opened where the schema is. {@code registry}
     * may be null for {@link RecordFormat#JSON}.
     */
    static <T extends WireRecord> RecordSerde<T> open(
            Class<T> type, RecordFormat format, SchemaRegistryConfig registry, String topic) {
        return create(type, format, registry == null ? null : new SchemaRegistryClient(registry), topic);
    }
}
