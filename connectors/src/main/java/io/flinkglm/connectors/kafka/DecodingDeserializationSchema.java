package io.flinkglm.connectors.kafka;

import io.flinkglm.connectors.formats.AvroSerdeOptions;
import io.flinkglm.connectors.formats.MalformedRecordException;
import io.flinkglm.connectors.formats.MalformedRecordException.Kind;
import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.RecordSerde;
import io.flinkglm.connectors.formats.SchemaIdFraming;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Decoded;
import io.flinkglm.records.Origin;
import io.flinkglm.records.WireRecord;
import io.flinkglm.connectors.registry.SchemaRegistryConfig;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * Reads Kafka values into {@code Decoded<T>}: a poison record (empty, oversized, bad UTF-8, bad JSON, missing
 * fields, bad Avro header, unknown schema id, truncated) becomes a {@link DeadLetter} instead of an exception,
 * so it cannot fail the job in a restart loop.
 *
 * <p>Avro values may name their writer's schema in any of Confluent's three framings, the
 * {@value SchemaIdFraming#VALUE_SCHEMA_ID_HEADER} header included (see {@link SchemaIdFraming}).
 *
 * <p>One failure still throws: the schema registry being unreachable or refusing (anything but a 404 for the
 * record's schema, which is retried and then a dead letter). The record is not at fault and a restart
 * from the last checkpoint will read it again, whereas a dead letter would lose a good prompt.
 *
 * <pre>{@code
 * KafkaSource.<Decoded<Prompt>>builder()
 *     .setDeserializer(new DecodingDeserializationSchema<>(Prompt.class, RecordFormat.JSON, null, 10 << 20))
 * }</pre>
 */
@PublicEvolving
public final class DecodingDeserializationSchema<T extends WireRecord> implements KafkaRecordDeserializationSchema<Decoded<T>> {

    /** How much of an oversized record its dead letter keeps: enough to identify it, small enough for the DLQ. */
    static final int OVERSIZED_KEPT_BYTES = 64 * 1024;

    private static final long serialVersionUID = 1L;

    private final Class<T> type;
    private final RecordFormat format;
    private final SchemaRegistryConfig schemaRegistry;
    private final AvroSerdeOptions avroOptions;
    private final long maxRecordBytes;
    private transient RecordSerde<T> serde;

    public DecodingDeserializationSchema(Class<T> type, RecordFormat format, String schemaRegistryUrl, long maxRecordBytes) {
        this(type, format, schemaRegistryUrl == null ? null : SchemaRegistryConfig.of(schemaRegistryUrl), maxRecordBytes);
    }

    /** {@code schemaRegistry} may be null for {@link RecordFormat#JSON}. */
    public DecodingDeserializationSchema(Class<T> type, RecordFormat format, SchemaRegistryConfig schemaRegistry,
            long maxRecordBytes) {
        this(type, format, schemaRegistry, AvroSerdeOptions.DEFAULTS, maxRecordBytes);
    }

    /** {@code avroOptions}' subject naming is what a {@code bad_magic_byte} dead letter names. */
    public DecodingDeserializationSchema(Class<T> type, RecordFormat format, SchemaRegistryConfig schemaRegistry,
            AvroSerdeOptions avroOptions, long maxRecordBytes) {
        this.type = type;
        this.format = format;
        this.schemaRegistry = schemaRegistry;
        this.avroOptions = avroOptions;
        this.maxRecordBytes = maxRecordBytes;
    }

    /** Flink type information for {@code Decoded<T>}: a POJO of two POJOs, so no Kryo fallback. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static <T> TypeInformation<Decoded<T>> decodedType(Class<T> type) {
        return (TypeInformation) Types.POJO(Decoded.class, Map.of(
                "value", TypeInformation.of(type), "origin", TypeInformation.of(Origin.class),
                "deadLetter", TypeInformation.of(DeadLetter.class)));
    }

    @Override
    public void open(DeserializationSchema.InitializationContext context) {
        // No topic: a reader finds the writer's schema by the id or GUID in each record, and the topic per record.
        serde = RecordSerde.open(type, format, schemaRegistry, avroOptions, null);
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<Decoded<T>> out) throws IOException {
        if (serde == null) { // a test or a caller outside a source may skip open()
            open(null);
        }
        byte[] value = record.value();
        try {
            out.collect(Decoded.value(decode(record), new Origin(record.topic(), record.partition(), record.offset(), value)));
        } catch (MalformedRecordException e) {
            byte[] kept = e.kind() == Kind.OVERSIZED
                    ? Arrays.copyOf(value, Math.min(value.length, OVERSIZED_KEPT_BYTES))
                    : value;
            out.collect(Decoded.deadLetter(
                    DeadLetter.of(new Origin(record.topic(), record.partition(), record.offset(), kept), DeadLetter.Stage.DECODE,
                            e.getMessage())));
        }
    }

    private T decode(ConsumerRecord<byte[], byte[]> record) throws MalformedRecordException, IOException {
        byte[] value = record.value();
        if (value == null || value.length == 0) {
            throw new MalformedRecordException(Kind.EMPTY, "the record has no value (a tombstone?)");
        }
        if (value.length > maxRecordBytes) {
            throw new MalformedRecordException(Kind.OVERSIZED, String.format(
                    "record is %,d bytes, over the %,d-byte limit (glm.kafka.max-record-size); dead letter keeps the"
                            + " first %,d bytes", value.length, maxRecordBytes, OVERSIZED_KEPT_BYTES));
        }
        try {
            Header schemaId = record.headers().lastHeader(SchemaIdFraming.VALUE_SCHEMA_ID_HEADER);
            return serde.decode(value, schemaId == null ? null : schemaId.value(), record.topic());
        } catch (MalformedRecordException | IOException e) {
            throw e;
        } catch (RuntimeException e) { // a parser bug must not turn one record into a restart loop either
            throw new MalformedRecordException(Kind.INVALID_RECORD, "unexpected " + e, e);
        }
    }

    @Override
    public TypeInformation<Decoded<T>> getProducedType() {
        return decodedType(type);
    }
}
