package io.flinkglm.connectors.kafka;

import io.flinkglm.connectors.formats.AvroSerdeOptions;
import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.RecordSerde;
import io.flinkglm.connectors.formats.SchemaIdFraming;
import io.flinkglm.connectors.formats.WriterSchemaException;
import io.flinkglm.connectors.registry.SchemaRegistryConfig;
import io.flinkglm.records.WireRecord;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * Writes any {@link WireRecord} to one topic, keyed by {@link WireRecord#kafkaKey()} (the conversation id)
 * so a conversation's records stay in order on one partition.
 *
 * <p>For Avro, {@link #open} chooses the schema to write with in the registry. When the registry refuses
 * (401/403, a subject without the schema while auto-register is off, 409 incompatible) the task throws
 * Flink's {@link SuppressRestartsException}: Flink then fails the job once, with the message, whatever its
 * restart strategy. Restarting could not help, since the registry would give the same answer, and a job
 * restart-looping on a governance decision hides the message among restarts. An unreachable registry
 * stays an ordinary failure that the restart strategy retries.
 *
 * <pre>{@code
 * KafkaSink.<Completion>builder()
 *     .setRecordSerializer(new WireRecordSerializationSchema<>(Completion.class, "glm.completions", RecordFormat.JSON, null))
 * }</pre>
 */
@PublicEvolving
public final class WireRecordSerializationSchema<T extends WireRecord> implements KafkaRecordSerializationSchema<T> {

    private static final long serialVersionUID = 1L;

    private final Class<T> type;
    private final String topic;
    private final RecordFormat format;
    private final SchemaRegistryConfig schemaRegistry;
    private final AvroSerdeOptions avroOptions;
    private transient RecordSerde<T> serde;
    private transient List<Header> headers; // the same on every record: the schema is chosen once

    public WireRecordSerializationSchema(Class<T> type, String topic, RecordFormat format, String schemaRegistryUrl) {
        this(type, topic, format, schemaRegistryUrl == null ? null : SchemaRegistryConfig.of(schemaRegistryUrl),
                AvroSerdeOptions.DEFAULTS);
    }

    /** {@code schemaRegistry} may be null for {@link RecordFormat#JSON}. */
    public WireRecordSerializationSchema(Class<T> type, String topic, RecordFormat format,
            SchemaRegistryConfig schemaRegistry, AvroSerdeOptions avroOptions) {
        this.type = type;
        this.topic = topic;
        this.format = format;
        this.schemaRegistry = schemaRegistry;
        this.avroOptions = avroOptions;
    }

    /**
     * @throws SuppressRestartsException when the registry refuses this writer for good; its cause says what to do
     * @throws IOException when the registry cannot be reached; the restart strategy retries
     */
    @Override
    public void open(SerializationSchema.InitializationContext context, KafkaSinkContext sinkContext) throws IOException {
        serde = RecordSerde.open(type, format, schemaRegistry, avroOptions, topic);
        try {
            serde.prepareToWrite();
        } catch (WriterSchemaException e) {
            throw new SuppressRestartsException(e);
        }
        byte[] schemaId = serde.valueSchemaIdHeader();
        headers = schemaId == null ? List.of() : List.of(new RecordHeader(SchemaIdFraming.VALUE_SCHEMA_ID_HEADER, schemaId));
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(T record, KafkaSinkContext context, Long timestamp) {
        try {
            if (serde == null) { // a test or a caller outside a sink may skip open()
                open(null, context);
            }
            String key = record.kafkaKey();
            return new ProducerRecord<>(topic, null, timestamp,
                    key == null ? null : key.getBytes(StandardCharsets.UTF_8), serde.encode(record), headers);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + type.getSimpleName() + " to " + topic + ": " + e.getMessage(), e);
        }
    }
}
