package io.flinkglm.connectors.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkglm.connectors.formats.JsonRecordSerde;
import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.RecordSerde;
import io.flinkglm.connectors.registry.SchemaRegistryClient;
import io.flinkglm.records.ChatMessage;
import io.flinkglm.records.Decoded;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Task;
import io.flinkglm.testkit.LocalSchemaRegistry;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.functions.util.ListCollector;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * {@code Prompt.response_format} through both wire formats, both ways, in both OpenAI shapes: the JSON
 * object string arrives exactly as sent, the JSON wire also reads it as an object (as OpenAI writes it), and a
 * value of another type is a dead letter naming the field.
 */
class PromptResponseFormatWireTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String JSON_OBJECT = "{\"type\":\"json_object\"}";
    private static final String JSON_SCHEMA = "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"ticket\","
            + "\"schema\":{\"type\":\"object\",\"properties\":{\"urgency\":{\"enum\":[\"low\",\"high\"]},"
            + "\"summary\":{\"type\":\"string\",\"maxLength\":40}},\"required\":[\"urgency\"],\"additionalProperties\":false}}}";

    private static LocalSchemaRegistry registry;

    @BeforeAll
    static void startRegistry() throws Exception {
        registry = LocalSchemaRegistry.start();
    }

    @AfterAll
    static void stopRegistry() {
        registry.close();
    }

    private static Prompt prompt(String responseFormat) {
        return new Prompt("req-1", "conv-1", "acme", null, List.of(new ChatMessage("user", "Triage: login fails", null)),
                null, null, null, Task.CHAT, null, responseFormat);
    }

    @ParameterizedTest
    @ValueSource(strings = {JSON_OBJECT, JSON_SCHEMA})
    void jsonCarriesItAsAStringUnderItsSnakeCaseNameBothWays(String format) throws Exception {
        JsonRecordSerde<Prompt> serde = new JsonRecordSerde<>(Prompt.class);

        byte[] written = serde.encode(prompt(format));
        JsonNode tree = JSON.readTree(written);
        assertThat(tree.get("response_format").textValue()).isEqualTo(format);
        assertThat(JSON.readTree(tree.get("response_format").textValue())).isEqualTo(JSON.readTree(format));
        assertThat(serde.decode(written)).isEqualTo(prompt(format));

        String byHand = "{\"request_id\":\"req-1\",\"conversation_id\":\"conv-1\",\"tenant\":\"acme\",\"task\":\"chat\","
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Triage: login fails\"}],\"response_format\":"
                + JSON.writeValueAsString(format) + "}";
        Prompt read = serde.decode(byHand.getBytes(UTF_8));
        assertThat(read).isEqualTo(prompt(format));
        assertThat(JSON.readTree(serde.encode(read)).get("response_format")).isEqualTo(tree.get("response_format"));
    }

    @ParameterizedTest
    @ValueSource(strings = {JSON_OBJECT, JSON_SCHEMA})
    void avroCarriesItBothWays(String format) throws Exception {
        RecordSerde<Prompt> serde = RecordSerde.create(Prompt.class, RecordFormat.AVRO,
                new SchemaRegistryClient(registry.url()), "glm.prompts-value");

        byte[] written = serde.encode(prompt(format));
        Prompt read = serde.decode(written);

        assertThat(read).isEqualTo(prompt(format));
        assertThat(read.responseFormat()).isEqualTo(format);
        assertThat(serde.encode(read)).isEqualTo(written);
        assertThat(serde.decode(serde.encode(prompt(null))).responseFormat()).as("absent stays absent").isNull();
    }

    /** OpenAI's API writes these fields as JSON, not as strings holding JSON: the JSON wire reads both. */
    @ParameterizedTest
    @ValueSource(strings = {JSON_OBJECT, JSON_SCHEMA})
    void jsonAlsoReadsItAsAnObjectAsOpenAiWritesIt(String format) throws Exception {
        String tools = "[{\"type\":\"function\",\"function\":{\"name\":\"triage\",\"parameters\":{\"type\":\"object\"}}}]";
        String choice = "{\"type\":\"function\",\"function\":{\"name\":\"triage\"}}";
        String value = "{\"request_id\":\"req-1\",\"conversation_id\":\"conv-1\",\"tenant\":\"acme\",\"task\":\"chat\","
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Triage: login fails\"}],\"response_format\": "
                + format + ", \"tools\": " + tools + ", \"tool_choice\": " + choice + "}";

        Decoded<Prompt> decoded = read(value.getBytes(UTF_8));

        assertThat(decoded.isValue()).as(value).isTrue();
        Prompt read = decoded.value();
        assertThat(JSON.readTree(read.responseFormat())).isEqualTo(JSON.readTree(format));
        assertThat(JSON.readTree(read.tools())).isEqualTo(JSON.readTree(tools));
        assertThat(JSON.readTree(read.toolChoice())).isEqualTo(JSON.readTree(choice));
    }

    @Test
    void aResponseFormatThatIsNeitherJsonNorAStringIsADeadLetterNamingTheField() throws Exception {
        String base = "{\"request_id\":\"req-1\",\"conversation_id\":\"conv-1\",\"task\":\"chat\",\"text\":\"hi\","
                + "\"response_format\":VALUE}";

        for (String wrong : List.of("7", "true")) {
            String value = base.replace("VALUE", wrong);
            Decoded<Prompt> decoded = read(value.getBytes(UTF_8));
            assertThat(decoded.isValue()).as(value).isFalse();
            assertThat(decoded.deadLetter().reason()).startsWith("invalid_record: ").contains("response_format");
            assertThat(decoded.deadLetter().original()).isEqualTo(value.getBytes(UTF_8));
        }
    }

    private static Decoded<Prompt> read(byte[] value) throws Exception {
        var schema = new DecodingDeserializationSchema<>(Prompt.class, RecordFormat.JSON, registry.url().toString(), 4096);
        List<Decoded<Prompt>> out = new ArrayList<>();
        schema.deserialize(new ConsumerRecord<>("glm.prompts", 0, 3L, null, value), new ListCollector<>(out));
        assertThat(out).hasSize(1);
        return out.get(0);
    }
}
