package io.flinkglm.connectors.kafka;

import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.RecordSerde;
import io.flinkglm.records.WireRecord;
import io.flinkglm.connectors.registry.SchemaRegistryClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
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
public final class WireRecordSerializationSchema<T extends WireRecord> implements KafkaRecordSerializationSchema<T> {

    private static final long serialVersionUID = 1L;

    private final Class<T> type;
    private final String topic;
    private final RecordFormat format;
    private final String schemaRegistryUrl;
    private transient RecordSerde<T> serde;

    public WireRecordSerializationSchema(Class<T> type, String topic, RecordFormat format, String schemaRegistryUrl) {
        this.type = type;
        this.topic = topic;
        this.format = format;
        this.schemaRegistryUrl = schemaRegistryUrl;
    }

    @Override
    public void open(SerializationSchema.InitializationContext context, KafkaSinkContext sinkContext) {
        SchemaRegistryClient registry = schemaRegistryUrl == null ? null : new SchemaRegistryClient(URI.create(schemaRegistryUrl));
        serde = RecordSerde.create(type, format, registry, topic);
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
