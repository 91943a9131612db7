package io.flinkglm.connectors.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkglm.connectors.formats.AvroRecordSerde;
import io.flinkglm.connectors.formats.AvroSerdeOptions;
import io.flinkglm.connectors.formats.MalformedRecordException;
import io.flinkglm.connectors.formats.RecordSchemas;
import io.flinkglm.connectors.formats.SchemaIdFraming;
import io.flinkglm.connectors.formats.JsonRecordSerde;
import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.registry.SchemaRegistryClient;
import io.flinkglm.connectors.testing.SampleRecords;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Decoded;
import io.flinkglm.records.Prompt;
import io.flinkglm.testkit.LocalSchemaRegistry;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.util.Utf8;
import org.apache.flink.api.common.functions.util.ListCollector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

class DecodingDeserializationSchemaTest {

    private static final Prompt PROMPT = SampleRecords.chatPrompt("req-1", "conv-1");
    private static final int MAX_BYTES = 4096;

    private static LocalSchemaRegistry registry;

    @BeforeAll
    static void startRegistry() throws Exception {
        registry = LocalSchemaRegistry.start();
    }

    @AfterAll
    static void stopRegistry() {
        registry.close();
    }

    @Nested
    class Json {

        @Test
        void validPromptIsAValue() throws Exception {
            assertThat(read(RecordFormat.JSON, new JsonRecordSerde<>(Prompt.class).encode(PROMPT)).value()).isEqualTo(PROMPT);
        }

        @Test
        void invalidJsonIsADeadLetter() throws Exception {
            assertDeadLetter(RecordFormat.JSON, "{\"request_id\": \"r\",".getBytes(UTF_8), "invalid_json: ");
        }

        @Test
        void invalidUtf8IsADeadLetter() throws Exception {
            byte[] value = "{\"request_id\": \"r?\"}".getBytes(UTF_8);
            value[value.length - 3] = (byte) 0xC3; // a two-byte lead followed by '"' is not UTF-8
            assertDeadLetter(RecordFormat.JSON, value, "invalid_utf8: ");
        }

        @Test
        void missingRequiredFieldsAreNamedInTheReason() throws Exception {
            DeadLetter dead = assertDeadLetter(RecordFormat.JSON,
                    "{\"conversation_id\": \"c\", \"text\": \"hi\"}".getBytes(UTF_8), "invalid_record: ");
            assertThat(dead.reason()).contains("request_id is missing", "task is missing");
        }

        @Test
        void textAndMessagesTogetherAreADeadLetter() throws Exception {
            String json = "{\"request_id\":\"r\",\"conversation_id\":\"c\",\"task\":\"chat\",\"text\":\"a\","
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"b\"}]}";
            assertThat(assertDeadLetter(RecordFormat.JSON, json.getBytes(UTF_8), "invalid_record: ").reason())
                    .contains("both text and messages");
        }

        @Test
        void unknownTaskAndWrongTypesAreDeadLetters() throws Exception {
            assertDeadLetter(RecordFormat.JSON,
                    "{\"request_id\":\"r\",\"conversation_id\":\"c\",\"task\":\"dance\",\"text\":\"a\"}".getBytes(UTF_8),
                    "invalid_record: ");
            assertDeadLetter(RecordFormat.JSON,
                    "{\"request_id\":\"r\",\"conversation_id\":\"c\",\"task\":\"chat\",\"text\":\"a\",\"sampling\":{\"top_k\":\"many\"}}"
                            .getBytes(UTF_8), "invalid_record: ");
            assertDeadLetter(RecordFormat.JSON, "[1, 2]".getBytes(UTF_8), "invalid_record: ");
        }

        @Test
        void oversizedRecordIsADeadLetterWithoutBeingParsed() throws Exception {
            byte[] value = new byte[MAX_BYTES + 1];
            Arrays.fill(value, (byte) '{'); // would be invalid JSON too: the size check must come first
            assertDeadLetter(RecordFormat.JSON, value, "oversized: record is 4,097 bytes, over the 4,096-byte limit");
        }

        @Test
        void emptyAndNullValuesAreDeadLetters() throws Exception {
            assertDeadLetter(RecordFormat.JSON, new byte[0], "empty: ");
            assertDeadLetter(RecordFormat.JSON, null, "empty: ");
        }
    }

    @Nested
    class Avro {

        @Test
        void validPromptIsAValue() throws Exception {
            assertThat(read(RecordFormat.AVRO, avroPrompt()).value()).isEqualTo(PROMPT);
        }

        @Test
        void wrongMagicByteIsADeadLetterNamingTheTopicsSubject() throws Exception {
            byte[] value = avroPrompt();
            value[0] = 2;
            assertDeadLetter(RecordFormat.AVRO, value, "bad_magic_byte: expected Confluent magic byte 0x00 (schema id)"
                    + " or 0x01 (schema GUID) at the start of the value but found 0x02; is the producer writing subject"
                    + " glm.prompts-value as Avro?");
        }

        @Test
        void aBadMagicByteOutsideATopicNamesNoSubject() {
            var serde = new AvroRecordSerde<>(Prompt.class, new SchemaRegistryClient(registry.url()),
                    AvroSerdeOptions.DEFAULTS, null);

            assertThatThrownBy(() -> serde.decode(new byte[] {2, 0, 0, 0, 1, 0}))
                    .isInstanceOf(MalformedRecordException.class)
                    .hasMessageEndingWith("is the producer writing Avro with a schema registry?")
                    .message().doesNotContain("unused").doesNotContain("-value");
        }

        @Test
        void aGuidFramedValueIsAValue() throws Exception {
            assertThat(read(RecordFormat.AVRO, avroPrompt(SchemaIdFraming.GUID)).value()).isEqualTo(PROMPT);
        }

        @Test
        void aValueWhoseHeaderNamesItsSchemaIsAValue() throws Exception {
            var serde = writer(SchemaIdFraming.HEADER);
            byte[] bare = serde.encode(PROMPT);

            assertThat(bare[0]).as("the bare datum starts with the request id's length, not a magic byte").isNotIn(0, 1);
            assertThat(read(RecordFormat.AVRO, bare, serde.valueSchemaIdHeader()).value()).isEqualTo(PROMPT);
            int id = registry.register("glm.prompts-value", RecordSchemas.of(Prompt.class));
            byte[] idHeader = ByteBuffer.allocate(5).put((byte) 0).putInt(id).array();
            assertThat(read(RecordFormat.AVRO, bare, idHeader).value()).isEqualTo(PROMPT);
        }

        @Test
        void anUnknownGuidIsADeadLetter() throws Exception {
            byte[] value = avroPrompt(SchemaIdFraming.GUID);
            ByteBuffer.wrap(value, 1, 16).putLong(42).putLong(42);
            assertDeadLetter(RecordFormat.AVRO, value, "unknown_schema_id: ");
        }

        @Test
        void jsonSentToAnAvroTopicIsABadMagicByte() throws Exception {
            assertDeadLetter(RecordFormat.AVRO, new JsonRecordSerde<>(Prompt.class).encode(PROMPT), "bad_magic_byte: ");
        }

        @Test
        void unknownSchemaIdIsADeadLetter() throws Exception {
            byte[] value = avroPrompt();
            ByteBuffer.wrap(value, 1, 4).putInt(4242);
            assertDeadLetter(RecordFormat.AVRO, value, "unknown_schema_id: ");
        }

        @Test
        void truncatedDatumIsADeadLetter() throws Exception {
            byte[] value = avroPrompt();
            assertDeadLetter(RecordFormat.AVRO, Arrays.copyOf(value, value.length - 10), "truncated: ");
            assertDeadLetter(RecordFormat.AVRO, Arrays.copyOf(value, 3), "truncated: ");
        }

        @Test
        void trailingBytesAreADeadLetter() throws Exception {
            byte[] value = avroPrompt();
            assertDeadLetter(RecordFormat.AVRO, Arrays.copyOf(value, value.length + 3), "invalid_avro: ");
        }

        @Test
        void invalidUtf8InAnAvroStringIsADeadLetter() throws Exception {
            Schema schema = SchemaBuilder.record("Prompt").namespace("io.flinkglm.records").fields()
                    .requiredString("request_id").requiredString("conversation_id")
                    .optionalString("text")
                    .name("task").type().enumeration("Task").symbols("chat", "complete", "moderate").noDefault()
                    .endRecord();
            GenericRecord record = new GenericData.Record(schema);
            record.put("request_id", new Utf8(new byte[] {'r', (byte) 0xFF}));
            record.put("conversation_id", "c");
            record.put("text", "hi");
            record.put("task", new GenericData.EnumSymbol(schema.getField("task").schema(), "chat"));
            assertDeadLetter(RecordFormat.AVRO, confluentFrame(registry.register("other-producer", schema), schema, record),
                    "invalid_utf8: ");
        }
    }

    @Test
    void deadLetterKeepsOriginalBytesAndWhereTheRecordCameFrom() throws Exception {
        byte[] value = "not json".getBytes(UTF_8);

        DeadLetter dead = read(RecordFormat.JSON, value).deadLetter();

        assertThat(dead.original()).isEqualTo(value);
        assertThat(dead.topic()).isEqualTo("glm.prompts");
        assertThat(dead.partition()).isEqualTo(3);
        assertThat(dead.offset()).isEqualTo(17L);
        assertThat(dead.stage()).isEqualTo(DeadLetter.Stage.DECODE);
        assertThat(dead.timestampMs()).isPositive();
    }

    private static DeadLetter assertDeadLetter(RecordFormat format, byte[] value, String reasonPrefix) throws Exception {
        Decoded<Prompt> decoded = read(format, value);
        assertThat(decoded.isValue()).as("decoded %s", decoded).isFalse();
        assertThat(decoded.deadLetter().reason()).startsWith(reasonPrefix);
        return decoded.deadLetter();
    }

    private static Decoded<Prompt> read(RecordFormat format, byte[] value) throws Exception {
        return read(format, value, null);
    }

    private static Decoded<Prompt> read(RecordFormat format, byte[] value, byte[] schemaIdHeader) throws Exception {
        var schema = new DecodingDeserializationSchema<>(Prompt.class, format, registry.url().toString(), MAX_BYTES);
        List<Decoded<Prompt>> out = new ArrayList<>();
        var record = new ConsumerRecord<byte[], byte[]>("glm.prompts", 3, 17L, null, value);
        if (schemaIdHeader != null) {
            record.headers().add(SchemaIdFraming.VALUE_SCHEMA_ID_HEADER, schemaIdHeader);
        }
        schema.deserialize(record, new ListCollector<>(out));
        assertThat(out).hasSize(1);
        return out.get(0);
    }

    private static byte[] avroPrompt() throws Exception {
        return avroPrompt(SchemaIdFraming.ID);
    }

    private static byte[] avroPrompt(SchemaIdFraming framing) throws Exception {
        return writer(framing).encode(PROMPT);
    }

    private static AvroRecordSerde<Prompt> writer(SchemaIdFraming framing) {
        return new AvroRecordSerde<>(Prompt.class, new SchemaRegistryClient(registry.url()),
                AvroSerdeOptions.DEFAULTS.withFraming(framing), "glm.prompts");
    }

    private static byte[] confluentFrame(int schemaId, Schema schema, GenericRecord record) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0);
        out.write(ByteBuffer.allocate(4).putInt(schemaId).array());
        BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(schema).write(record, encoder);
        encoder.flush();
        return out.toByteArray();
    }
}
