package io.flinkglm.connectors.formats;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkglm.connectors.registry.SchemaRegistryClient;
import io.flinkglm.testkit.LocalSchemaRegistry;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Task;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code Prompt.priority} on the wire, and producers and consumers that predate it. */
class PromptPriorityWireTest {

    private static LocalSchemaRegistry registry;

    @BeforeAll
    static void startRegistry() throws Exception {
        registry = LocalSchemaRegistry.start();
    }

    @AfterAll
    static void stopRegistry() {
        registry.close();
    }

    private static Prompt urgent() {
        return new Prompt("req-1", "conv-1", "acme", "Hello", null, null, null, null, Task.COMPLETE).withPriority(-3);
    }

    /** Prompt.avsc as it was before {@code priority}: today's schema without that field. */
    private static Schema schemaWithoutPriority() throws Exception {
        ObjectNode json = (ObjectNode) WireJson.MAPPER.readTree(RecordSchemas.of(Prompt.class).toString());
        ArrayNode fields = (ArrayNode) json.get("fields");
        for (int i = 0; i < fields.size(); i++) {
            if (fields.get(i).get("name").asText().equals("priority")) {
                fields.remove(i);
            }
        }
        return new Schema.Parser().parse(json.toString());
    }

    @Test
    void priorityRoundTripsInJsonUnderItsSnakeCaseName() throws Exception {
        JsonRecordSerde<Prompt> serde = new JsonRecordSerde<>(Prompt.class);

        byte[] bytes = serde.encode(urgent());

        JsonNode tree = WireJson.MAPPER.readTree(bytes);
        assertThat(tree.get("priority").intValue()).isEqualTo(-3);
        assertThat(serde.decode(bytes)).isEqualTo(urgent());
        assertThat(serde.decode("{\"request_id\":\"r\",\"conversation_id\":\"c\",\"text\":\"t\",\"task\":\"complete\"}"
                .getBytes()).priority()).isNull();
    }

    @Test
    void priorityRoundTripsInAvro() throws Exception {
        RecordSerde<Prompt> serde = RecordSerde.create(Prompt.class, RecordFormat.AVRO,
                new SchemaRegistryClient(registry.url()), "glm.prompts-value");

        assertThat(serde.decode(serde.encode(urgent()))).isEqualTo(urgent());
    }

    @Test
    void aRecordWrittenWithTheSchemaBeforePriorityDecodesWithPriorityNull() throws Exception {
        Schema old = schemaWithoutPriority();
        int oldId = registry.register("glm.prompts-value", old);
        GenericRecord datum = new GenericData.Record(old);
        datum.put("request_id", "req-1");
        datum.put("conversation_id", "conv-1");
        datum.put("tenant", "acme");
        datum.put("text", "Hello");
        datum.put("task", new GenericData.EnumSymbol(old.getField("task").schema(), "complete"));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(0);
        out.write(ByteBuffer.allocate(4).putInt(oldId).array());
        BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericRecord>(old).write(datum, encoder);
        encoder.flush();

        Prompt decoded = new AvroRecordSerde<>(Prompt.class, new SchemaRegistryClient(registry.url()), AvroSerdeOptions.DEFAULTS, "glm.prompts")
                .decode(out.toByteArray());

        assertThat(decoded).isEqualTo(urgent().withPriority(null));
    }

    @Test
    void aConsumerWithTheSchemaBeforePriorityReadsARecordThatHasOne() throws Exception {
        RecordSerde<Prompt> serde = RecordSerde.create(Prompt.class, RecordFormat.AVRO,
                new SchemaRegistryClient(registry.url()), "glm.prompts-value");
        byte[] bytes = serde.encode(urgent());

        GenericRecord read = new GenericDatumReader<GenericRecord>(RecordSchemas.of(Prompt.class), schemaWithoutPriority())
                .read(null, DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, null));

        assertThat(read.get("request_id").toString()).isEqualTo("req-1");
        assertThat(read.get("tenant").toString()).isEqualTo("acme");
        assertThat(read.getSchema().getField("priority")).isNull();
    }
}
