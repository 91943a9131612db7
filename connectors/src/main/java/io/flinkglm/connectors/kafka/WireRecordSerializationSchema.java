package io.flinkglm.connectors.kafka;

import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.RecordSerde;
import io.flinkglm.records.WireRecord;
import io.flinkglm.connectors.registry.SchemaRegistryConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes any {@link WireRecord} to one topic, keyed by {@link WireRecord#kafkaKey()} (the conversation id)
 * so a conversation's records stay in order on one partition.
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
    private transient RecordSerde<T> serde;

    public WireRecordSerializationSchema(Class<T> type, String topic, RecordFormat format, String schemaRegistryUrl) {
        this(type, topic, format, schemaRegistryUrl == null ? null : SchemaRegistryConfig.of(schemaRegistryUrl));
    }

    /** {@code schemaRegistry} may be null for {@link RecordFormat#JSON}. */
    public WireRecordSerializationSchema(Class<T> type, String topic, RecordFormat format,
            SchemaRegistryConfig schemaRegistry) {
        this.type = type;
        this.topic = topic;
        this.format = format;
        this.schemaRegistry = schemaRegistry;
    }

    @Override
    public void open(SerializationSchema.InitializationContext context, KafkaSinkContext sinkContext) {
        serde = RecordSerde.open(type, format, schemaRegistry, topic);
    }

    @Override
    public ProducerRecord<byte[], byte[]> serialize(T record, KafkaSinkContext context, Long timestamp) {
        if (serde == null) {
            open(null, context);
        }
        String key = record.kafkaKey();
        try {
            return new ProducerRecord<>(topic, null, timestamp,
                    key == null ? null : key.getBytes(StandardCharsets.UTF_8), serde.encode(record));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + type.getSimpleName() + " to " + topic + ": " + e.getMessage(), e);
        }
    }
}
