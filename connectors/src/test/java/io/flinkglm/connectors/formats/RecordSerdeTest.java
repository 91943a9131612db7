package io.flinkglm.connectors.formats;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.flinkglm.connectors.registry.SchemaRegistryClient;
import io.flinkglm.connectors.testing.SampleRecords;
import io.flinkglm.records.WireRecord;
import io.flinkglm.testkit.LocalSchemaRegistry;
import java.nio.ByteBuffer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class RecordSerdeTest {

    private static LocalSchemaRegistry registry;

    @BeforeAll
    static void startRegistry() throws Exception {
        registry = LocalSchemaRegistry.start();
    }

    @AfterAll
    static void stopRegistry() {
        registry.close();
    }

    static Stream<WireRecord> records() {
        return SampleRecords.oneOfEach().stream();
    }

    @ParameterizedTest
    @MethodSource("records")
    void jsonRoundTripGivesEqualRecord(WireRecord record) throws Exception {
        RecordSerde<WireRecord> serde = serde(record, RecordFormat.JSON);

        assertThat(serde.decode(serde.encode(record))).isEqualTo(record);
    }

    @ParameterizedTest
    @MethodSource("records")
    void avroRoundTripGivesEqualRecordInConfluentWireFormat(WireRecord record) throws Exception {
        RecordSerde<WireRecord> serde = serde(record, RecordFormat.AVRO);

        byte[] bytes = serde.encode(record);

        assertThat(bytes[0]).isEqualTo((byte) 0);
        int schemaId = ByteBuffer.wrap(bytes, 1, 4).getInt();
        assertThat(registry.register("any-subject", RecordSchemas.of(record.getClass()))).isEqualTo(schemaId);
        assertThat(serde.decode(bytes)).isEqualTo(record);
    }

    @Test
    void jsonFieldNamesAreSnakeCaseAndNullsAreLeftOut() throws Exception {
        JsonNode tree = WireJson.MAPPER.readTree(
                new JsonRecordSerde<>(io.flinkglm.records.Prompt.class)
                        .encode(SampleRecords.textPrompt("req-9", "conv-9")));

        assertThat(tree.fieldNames()).toIterable()
                .containsExactlyInAnyOrder("request_id", "conversation_id", "text", "task");
        assertThat(tree.get("task").asText()).isEqualTo("complete");
    }

    @SuppressWarnings("unchecked")
    private static RecordSerde<WireRecord> serde(WireRecord record, RecordFormat format) {
        Class<WireRecord> type = (Class<WireRecord>) record.getClass();
        // A topic per type, as in a job: the registry refuses a second record type under one subject.
        return RecordSerde.create(type, format, new SchemaRegistryClient(registry.url()), "glm.test." + type.getSimpleName());
    }
}
