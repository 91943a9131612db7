package io.flinkglm.connectors.formats;

import io.flinkglm.connectors.formats.MalformedRecordException.Kind;
import io.flinkglm.connectors.registry.SchemaNotFoundException;
import io.flinkglm.connectors.registry.SchemaRegistryClient;
import io.flinkglm.records.WireRecord;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.UUID;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.flink.annotation.PublicEvolving;

/**
 * Avro binary in Confluent's wire formats, so Confluent's own serializers and deserializers interoperate.
 * Reading accepts all three ways Confluent's clients name the writer's schema ({@link SchemaIdFraming}), as
 * their {@code DualSchemaIdDeserializer} does: a {@value SchemaIdFraming#VALUE_SCHEMA_ID_HEADER} header (the
 * value is then the bare datum), else magic byte 0 and a 4-byte id, or magic byte 1 and a 16-byte GUID.
 * Writing frames as {@link AvroSerdeOptions#framing()} says, with the schema chosen by
 * {@link #prepareToWrite()}.
 *
 * <p>Reading resolves the writer's schema (looked up by id or GUID, cached) against this record's schema, so
 * producers may add or drop fields with defaults as Avro's resolution rules allow.
 *
 * <pre>{@code
 * var serde = new AvroRecordSerde<>(Prompt.class, new SchemaRegistryClient(URI.create(url)), AvroSerdeOptions.DEFAULTS, "glm.prompts");
 * }</pre>
 */
@PublicEvolving
public final class AvroRecordSerde<T extends WireRecord> implements RecordSerde<T> {

    private final Class<T> type;
    private final Schema readerSchema;
    private final SchemaRegistryClient registry;
    private final AvroSerdeOptions options;
    private final String topic; // what writers write to; null for a reader, which learns it per record
    private AvroWriterSchema writer; // chosen at the first write

    /**
     * @param topic the topic a writer writes to, which names its subject; null for a serde that only reads
     */
    public AvroRecordSerde(Class<T> type, SchemaRegistryClient registry, AvroSerdeOptions options, String topic) {
        this.type = type;
        this.readerSchema = RecordSchemas.of(type);
        this.registry = registry;
        this.options = options;
        this.topic = topic;
    }

    /**
     * Chooses the schema to write with now rather than at the first record, so a refusal fails the task at
     * start.
     *
     * @throws WriterSchemaException when the registry refuses; the message says what to do
     */
    @Override
    public void prepareToWrite() throws IOException {
        if (writer == null) {
            if (topic == null) {
                throw new IllegalStateException("this Avro serde of " + type.getSimpleName()
                        + " was made for reading: give it a topic to write");
            }
            writer = AvroWriterSchema.resolve(registry, options, topic, readerSchema);
        }
    }

    @Override
    public byte[] encode(T record) throws IOException {
        prepareToWrite();
        return writer.write(AvroJsonBridge.toAvro(WireJson.MAPPER.valueToTree(record), readerSchema));
    }

    @Override
    public byte[] valueSchemaIdHeader() {
        return writer == null ? null : writer.header();
    }

    @Override
    public T decode(byte[] value) throws MalformedRecordException, IOException {
        return decode(value, null, null);
    }

    @Override
    public T decode(byte[] value, byte[] valueSchemaIdHeader, String topic) throws MalformedRecordException, IOException {
        SchemaRef ref;
        int datumStart;
        if (valueSchemaIdHeader != null) {
            ref = schemaRef(valueSchemaIdHeader, "the " + SchemaIdFraming.VALUE_SCHEMA_ID_HEADER + " header", topic);
            datumStart = 0;
        } else {
            ref = schemaRef(value, "the value", topic);
            datumStart = ref.guid == null ? SchemaIdFraming.ID_PREFIX_BYTES : SchemaIdFraming.GUID_PREFIX_BYTES;
        }
        Schema writerSchema;
        try {
            writerSchema = ref.guid == null ? registry.schemaById(ref.id) : registry.schemaByGuid(ref.guid);
        } catch (SchemaNotFoundException e) {
            throw new MalformedRecordException(Kind.UNKNOWN_SCHEMA_ID, e.getMessage(), e);
        }
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(value, datumStart, value.length - datumStart, null);
        Object datum;
        try {
            datum = new GenericDatumReader<>(writerSchema, readerSchema).read(null, decoder);
        } catch (EOFException e) {
            throw new MalformedRecordException(Kind.TRUNCATED,
                    "Avro datum for " + ref + " ends early after " + value.length + " bytes", e);
        } catch (IOException | RuntimeException e) { // Avro reports corrupt lengths and bad indexes as either
            throw new MalformedRecordException(Kind.INVALID_AVRO, "cannot read " + ref + ": " + WireJson.firstLine(e), e);
        }
        if (!decoder.isEnd()) {
            throw new MalformedRecordException(Kind.INVALID_AVRO, "bytes left over after the Avro datum for " + ref);
        }
        return WireJson.toRecord(AvroJsonBridge.toJson(datum, readerSchema), type);
    }

    /** The writer's schema as a record names it: an id or a GUID. */
    private record SchemaRef(int id, UUID guid) {
        @Override
        public String toString() {
            return guid == null ? "schema id " + id : "schema guid " + guid;
        }
    }

    /** Reads magic byte 0 + id or magic byte 1 + GUID from the start of {@code bytes}. */
    private SchemaRef schemaRef(byte[] bytes, String where, String topic) throws MalformedRecordException {
        if (bytes.length == 0 || bytes[0] != SchemaIdFraming.MAGIC_ID && bytes[0] != SchemaIdFraming.MAGIC_GUID) {
            String subject = topic == null ? null : options.subjectNameStrategy().subject(topic, readerSchema);
            throw new MalformedRecordException(Kind.BAD_MAGIC_BYTE, String.format(
                    "expected Confluent magic byte 0x00 (schema id) or 0x01 (schema GUID) at the start of %s but found"
                            + " %s; is the producer writing %s?", where,
                    bytes.length == 0 ? "nothing" : String.format("0x%02x", bytes[0]),
                    subject == null ? "Avro with a schema registry" : "subject " + subject + " as Avro"));
        }
        int needed = bytes[0] == SchemaIdFraming.MAGIC_ID ? SchemaIdFraming.ID_PREFIX_BYTES : SchemaIdFraming.GUID_PREFIX_BYTES;
        if (bytes.length < needed) {
            throw new MalformedRecordException(Kind.TRUNCATED, String.format("%,d bytes in %s is shorter than the"
                    + " %d-byte Confluent header (magic byte 0x%02x + schema %s)", bytes.length, where, needed, bytes[0],
                    bytes[0] == SchemaIdFraming.MAGIC_ID ? "id" : "GUID"));
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes, 1, needed - 1);
        return bytes[0] == SchemaIdFraming.MAGIC_ID
                ? new SchemaRef(buffer.getInt(), null)
                : new SchemaRef(-1, new UUID(buffer.getLong(), buffer.getLong()));
    }
}
