package io.flinkglm.connectors.formats;

import io.flinkglm.connectors.formats.MalformedRecordException.Kind;
import io.flinkglm.records.WireRecord;
import io.flinkglm.connectors.registry.SchemaNotFoundException;
import io.flinkglm.connectors.registry.SchemaRegistryClient;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.flink.annotation.PublicEvolving;

/**
 * Avro binary in Confluent's wire format, so Confluent's own deserializers and tools read what we write:
 * byte 0 is the magic byte {@code 0}, bytes 1-4 the big-endian schema id from the registry, then the datum.
 *
 * <p>Reading resolves the writer's schema (looked up by id) against this record's schema, so producers may
 * add or drop fields with defaults as Avro's resolution rules allow.
 *
 * <pre>{@code
 * var serde = new AvroRecordSerde<>(Prompt.class, new SchemaRegistryClient(URI.create(url)), "glm.prompts-value");
 * }</pre>
 */
@PublicEvolving
public final class AvroRecordSerde<T extends WireRecord> implements RecordSerde<T> {

    static final byte MAGIC_BYTE = 0;
    static final int HEADER_BYTES = 5;

    private final Class<T> type;
    private final Schema readerSchema;
    private final SchemaRegistryClient registry;
    private final String subject;

    public AvroRecordSerde(Class<T> type, SchemaRegistryClient registry, String subject) {
        this.type = type;
        this.readerSchema = RecordSchemas.of(type);
        this.registry = registry;
        this.subject = subject;
    }

    @Override
    public byte[] encode(T record) throws IOException {
        int schemaId = registry.register(subject, readerSchema);
        Object datum = AvroJsonBridge.toAvro(WireJson.MAPPER.valueToTree(record), readerSchema);
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        out.write(MAGIC_BYTE);
        out.write(ByteBuffer.allocate(4).putInt(schemaId).array());
        BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
        new GenericDatumWriter<>(readerSchema).write(datum, encoder);
        encoder.flush();
        return out.toByteArray();
    }

    @Override
    public T decode(byte[] value) throws MalformedRecordException, IOException {
        if (value.length < HEADER_BYTES) {
            throw new MalformedRecordException(Kind.TRUNCATED,
                    value.length + " bytes is shorter than the 5-byte Confluent header (magic byte + schema id)");
        }
        if (value[0] != MAGIC_BYTE) {
            throw new MalformedRecordException(Kind.BAD_MAGIC_BYTE, String.format(
                    "expected Confluent magic byte 0x00 but found 0x%02x; is the producer writing %s as Avro?",
                    value[0], subject));
        }
        int schemaId = ByteBuffer.wrap(value, 1, 4).getInt();
        Schema writerSchema;
        try {
            writerSchema = registry.schemaById(schemaId);
        } catch (SchemaNotFoundException e) {
            throw new MalformedRecordException(Kind.UNKNOWN_SCHEMA_ID, e.getMessage(), e);
        }
        BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(value, HEADER_BYTES, value.length - HEADER_BYTES, null);
        Object datum;
        try {
            datum = new GenericDatumReader<>(writerSchema, readerSchema).read(null, decoder);
        } catch (EOFException e) {
            throw new MalformedRecordException(Kind.TRUNCATED,
                    "Avro datum for schema id " + schemaId + " ends early after " + value.length + " bytes", e);
        } catch (IOException | RuntimeException e) { // Avro reports corrupt lengths and bad indexes as either
            throw new MalformedRecordException(Kind.INVALID_AVRO,
                    "cannot read schema id " + schemaId + ": " + WireJson.firstLine(e), e);
        }
        if (!decoder.isEnd()) {
            throw new MalformedRecordException(Kind.INVALID_AVRO,
                    "bytes left over after the Avro datum for schema id " + schemaId);
        }
        return WireJson.toRecord(AvroJsonBridge.toJson(datum, readerSchema), type);
    }
}
