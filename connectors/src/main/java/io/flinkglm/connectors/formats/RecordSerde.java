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
     * As {@link #decode(byte[])}, for a value read from {@code topic} with the Kafka header
     * {@value SchemaIdFraming#VALUE_SCHEMA_ID_HEADER}, which Avro reads the writer's schema from when present.
     *
     * @param valueSchemaIdHeader the header's value; null when the record has none
     * @param topic where the value was read, for the dead letter's reason; null if unknown
     */
    default T decode(byte[] value, byte[] valueSchemaIdHeader, String topic) throws MalformedRecordException, IOException {
        return decode(value);
    }

    /**
     * Does now what the first {@link #encode} would have to, so it fails at start rather than at a record:
     * for Avro, choosing the schema to write with in the registry.
     *
     * @throws WriterSchemaException when it can never succeed (the registry refused)
     * @throws IOException when it may succeed later (the registry cannot be reached)
     */
    default void prepareToWrite() throws IOException {}

    /**
     * The value of the {@value SchemaIdFraming#VALUE_SCHEMA_ID_HEADER} header each encoded record must carry,
     * once {@link #prepareToWrite()} has run; null when the value carries everything (the default).
     */
    default byte[] valueSchemaIdHeader() {
        return null;
    }

    /**
     * A serde for {@code type} in {@code format}. For Avro, {@code registry} resolves writer schemas and
     * registers the record's schema under {@code <topic>-value}, Confluent's defaults
     * ({@link AvroSerdeOptions#DEFAULTS}).
     */
    static <T extends WireRecord> RecordSerde<T> create(
            Class<T> type, RecordFormat format, SchemaRegistryClient registry, String topic) {
        return create(type, format, registry, AvroSerdeOptions.DEFAULTS, topic);
    }

    /**
     * A serde for {@code type} in {@code format}; for Avro, using the registry as {@code avro} says.
     *
     * @param topic the topic written to; null for a serde that only reads
     */
    static <T extends WireRecord> RecordSerde<T> create(
            Class<T> type, RecordFormat format, SchemaRegistryClient registry, AvroSerdeOptions avro, String topic) {
        return switch (format) {
            case JSON -> new JsonRecordSerde<>(type);
            case AVRO -> new AvroRecordSerde<>(type, registry, avro, topic);
        };
    }

    /**
     * As {@link #create}, from the registry's settings rather than a client: what a Kafka schema
     * holds, since a client is not serializable and is opened where the schema is. {@code registry}
     * may be null for {@link RecordFormat#JSON}.
     */
    static <T extends WireRecord> RecordSerde<T> open(
            Class<T> type, RecordFormat format, SchemaRegistryConfig registry, AvroSerdeOptions avro, String topic) {
        return create(type, format, registry == null ? null : new SchemaRegistryClient(registry), avro, topic);
    }
}
