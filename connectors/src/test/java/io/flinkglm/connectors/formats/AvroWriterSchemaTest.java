package io.flinkglm.connectors.formats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkglm.connectors.registry.SchemaRegistryClient;
import io.flinkglm.connectors.registry.SchemaRegistryConfig;
import io.flinkglm.connectors.registry.SubjectNameStrategy;
import io.flinkglm.connectors.testing.SampleRecords;
import io.flinkglm.records.Completion;
import io.flinkglm.records.FinishReason;
import io.flinkglm.records.Prompt;
import io.flinkglm.testkit.LocalSchemaRegistry;
import io.flinkglm.testkit.LocalSchemaRegistry.Refusal;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * How a writer chooses its schema against a real registry over HTTP, for each of Confluent's settings, and
 * what it says when the registry refuses.
 */
class AvroWriterSchemaTest {

    private static final Schema COMPLETION = RecordSchemas.of(Completion.class);
    private static final String TOPIC = "glm.completions";
    private static final String SUBJECT = "glm.completions-value";
    private static final Completion ANSWER = Completion.builder("req-1", "conv-1").text("hi", FinishReason.STOP).build();
    private static final AvroSerdeOptions GOVERNED = AvroSerdeOptions.DEFAULTS.withAutoRegister(false);

    private LocalSchemaRegistry registry;

    @BeforeEach
    void start() throws Exception {
        registry = LocalSchemaRegistry.start();
    }

    @AfterEach
    void stop() {
        registry.close();
    }

    @Test
    void withoutAutoRegisterTheWriterLooksItsSchemaUpAndNeverRegisters() throws Exception {
        int id = registry.register(SUBJECT, COMPLETION);
        registry.refuseRegistration(Refusal.FORBIDDEN);

        byte[] value = writer(GOVERNED).encode(ANSWER);

        assertThat(ByteBuffer.wrap(value, 1, 4).getInt()).isEqualTo(id);
        assertThat(registry.requests()).containsExactly("POST /subjects/" + SUBJECT);
        assertThat(reader().decode(value)).isEqualTo(ANSWER);
    }

    @Test
    void aSubjectWithoutTheSchemaSaysRegisterItOrEnableAutoRegister() {
        assertThatThrownBy(() -> writer(GOVERNED).prepareToWrite())
                .isInstanceOf(WriterSchemaException.class)
                .hasMessageContaining("subject \"" + SUBJECT + "\" has no versions")
                .hasMessageContaining("POST /subjects/" + SUBJECT + "/versions")
                .hasMessageContaining("glm.kafka.schema-registry.auto-register=true");
    }

    @Test
    void aForbiddenRegistrationSaysToRegisterAheadWithoutPrintingThePassword() throws Exception {
        try (var secured = LocalSchemaRegistry.startWithBasicAuth("svc-glm", "s3cret-Pw")) {
            secured.refuseRegistration(Refusal.FORBIDDEN);
            var client = new SchemaRegistryClient(SchemaRegistryConfig.of(secured.url().toString())
                    .withUserInfo("svc-glm:s3cret-Pw"));
            var serde = new AvroRecordSerde<>(Completion.class, client, AvroSerdeOptions.DEFAULTS, TOPIC);

            assertThatThrownBy(serde::prepareToWrite)
                    .isInstanceOf(WriterSchemaException.class)
                    .hasMessageContaining("HTTP 403 for user svc-glm, who lacks the permission")
                    .hasMessageContaining("User is denied operation Write on Subject: " + SUBJECT)
                    .hasMessageContaining("set glm.kafka.schema-registry.auto-register=false")
                    .message().doesNotContain("s3cret-Pw");
        }
    }

    @Test
    void anIncompatibleSubjectIsA409NamingTheVersionAndTheRegistrysMessage() throws Exception {
        // BACKWARD: our schema must read the subject's data, which has no prompt_tokens for our required field.
        registry.register(SUBJECT, withoutField(COMPLETION, "prompt_tokens"));

        assertThatThrownBy(() -> writer(AvroSerdeOptions.DEFAULTS).prepareToWrite())
                .isInstanceOf(WriterSchemaException.class)
                .hasMessageContaining("under subject \"" + SUBJECT + "\" as incompatible with its latest, version 1"
                        + " (first incompatibility: READER_FIELD_MISSING_DEFAULT_VALUE")
                .hasMessageContaining("The registry said: Schema being registered is incompatible with an earlier schema");
    }

    @Test
    void useLatestVersionWritesWithACompatibleNewerSchemaThatReadersResolve() throws Exception {
        registry.register(SUBJECT, COMPLETION);
        Schema evolved = withField(COMPLETION, "region", true);
        int latestId = registry.register(SUBJECT, evolved);

        byte[] value = writer(GOVERNED.withUseLatestVersion(true)).encode(ANSWER);

        assertThat(ByteBuffer.wrap(value, 1, 4).getInt()).isEqualTo(latestId);
        assertThat(reader().decode(value)).isEqualTo(ANSWER);
        assertThat(registry.requests()).noneMatch(request -> request.endsWith("/versions"));
    }

    @Test
    void useLatestVersionThatCannotReadOurRecordsFailsNamingSubjectVersionAndIncompatibility() {
        registry.register(SUBJECT, COMPLETION);
        registry.register(SUBJECT, withField(COMPLETION, "region", false));

        assertThatThrownBy(() -> writer(GOVERNED.withUseLatestVersion(true)).prepareToWrite())
                .isInstanceOf(WriterSchemaException.class)
                .hasMessageContaining("subject \"" + SUBJECT + "\" version 2")
                .hasMessageContaining("READER_FIELD_MISSING_DEFAULT_VALUE")
                .hasMessageContaining("region");
    }

    @Test
    void aPinnedVersionIsUsedEvenWhenNewerOnesExist() throws Exception {
        int first = registry.register(SUBJECT, COMPLETION);
        registry.register(SUBJECT, withField(COMPLETION, "region", true));

        byte[] value = writer(GOVERNED.withSchemaVersion(1)).encode(ANSWER);

        assertThat(ByteBuffer.wrap(value, 1, 4).getInt()).isEqualTo(first);
    }

    @Test
    void recordAndTopicRecordStrategiesNameTheSubjectAfterTheRecord() throws Exception {
        writer(AvroSerdeOptions.DEFAULTS.withSubjectNameStrategy(SubjectNameStrategy.RECORD)).prepareToWrite();
        writer(AvroSerdeOptions.DEFAULTS.withSubjectNameStrategy(SubjectNameStrategy.TOPIC_RECORD)).prepareToWrite();

        assertThat(registry.requests()).containsExactly(
                "POST /subjects/io.flinkglm.connectors.records.Completion/versions",
                "POST /subjects/glm.completions-io.flinkglm.connectors.records.Completion/versions");
    }

    @Test
    void guidAndHeaderFramingsCarryTheRegistrysGuid() throws Exception {
        var guidWriter = writer(AvroSerdeOptions.DEFAULTS.withFraming(SchemaIdFraming.GUID));
        byte[] framed = guidWriter.encode(ANSWER);
        var headerWriter = writer(AvroSerdeOptions.DEFAULTS.withFraming(SchemaIdFraming.HEADER));
        byte[] bare = headerWriter.encode(ANSWER);
        int id = registry.register(SUBJECT, COMPLETION);
        ByteBuffer guid = ByteBuffer.allocate(17).put((byte) 1)
                .putLong(registry.guid(id).getMostSignificantBits()).putLong(registry.guid(id).getLeastSignificantBits());

        assertThat(ByteBuffer.wrap(framed, 0, 17)).isEqualTo(guid.flip());
        assertThat(headerWriter.valueSchemaIdHeader()).isEqualTo(guid.array());
        assertThat(bare.length).isEqualTo(framed.length - 17);
        assertThat(reader().decode(framed)).isEqualTo(ANSWER);
        assertThat(reader().decode(bare, headerWriter.valueSchemaIdHeader(), TOPIC)).isEqualTo(ANSWER);
    }

    @Test
    void optionsThatContradictEachOtherAreRefusedNamingTheOptions() {
        assertThatThrownBy(() -> AvroSerdeOptions.DEFAULTS.withUseLatestVersion(true))
                .hasMessageContaining("glm.kafka.schema-registry.auto-register=false");
        assertThatThrownBy(() -> GOVERNED.withUseLatestVersion(true).withSchemaVersion(3))
                .hasMessageContaining("use-latest-version and schema-version 3 are both set");
    }

    @Test
    void aPromptSerdeMadeForReadingCannotWrite() {
        var serde = new AvroRecordSerde<>(Prompt.class, new SchemaRegistryClient(registry.url()), GOVERNED, null);

        assertThatThrownBy(() -> serde.encode(SampleRecords.textPrompt("r", "c")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("made for reading");
    }

    private AvroRecordSerde<Completion> writer(AvroSerdeOptions options) {
        return new AvroRecordSerde<>(Completion.class, new SchemaRegistryClient(registry.url()), options, TOPIC);
    }

    private AvroRecordSerde<Completion> reader() {
        return new AvroRecordSerde<>(Completion.class, new SchemaRegistryClient(registry.url()), AvroSerdeOptions.DEFAULTS, null);
    }

    /** {@code schema} without its field {@code name}. */
    static Schema withoutField(Schema schema, String name) {
        List<Schema.Field> fields = new ArrayList<>();
        schema.getFields().stream().filter(field -> !field.name().equals(name))
                .forEach(field -> fields.add(new Schema.Field(field, field.schema())));
        return Schema.createRecord(schema.getName(), schema.getDoc(), schema.getNamespace(), false, fields);
    }

    /** {@code schema} with a string field {@code name} added: optional (null default) or required. */
    static Schema withField(Schema schema, String name, boolean optional) {
        List<Schema.Field> fields = new ArrayList<>();
        schema.getFields().forEach(field -> fields.add(new Schema.Field(field, field.schema())));
        fields.add(optional
                ? new Schema.Field(name, Schema.createUnion(Schema.create(Schema.Type.NULL), Schema.create(Schema.Type.STRING)),
                        null, Schema.Field.NULL_DEFAULT_VALUE)
                : new Schema.Field(name, Schema.create(Schema.Type.STRING)));
        return Schema.createRecord(schema.getName(), schema.getDoc(), schema.getNamespace(), false, fields);
    }
}
