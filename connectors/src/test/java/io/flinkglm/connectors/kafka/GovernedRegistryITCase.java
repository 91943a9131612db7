package io.flinkglm.connectors.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkglm.connectors.formats.AvroSerdeOptions;
import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.RecordSchemas;
import io.flinkglm.connectors.formats.RecordSerde;
import io.flinkglm.connectors.formats.SchemaIdFraming;
import io.flinkglm.connectors.formats.WriterSchemaException;
import io.flinkglm.connectors.registry.SchemaRegistryClient;
import io.flinkglm.connectors.registry.SubjectNameStrategy;
import io.flinkglm.connectors.testing.SampleRecords;
import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.FinishReason;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Sourced;
import io.flinkglm.records.WireRecord;
import io.flinkglm.testkit.KafkaMiniClusterExtension;
import io.flinkglm.testkit.LocalSchemaRegistry;
import io.flinkglm.testkit.LocalSchemaRegistry.Refusal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.avro.Schema;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ExceptionUtils;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The Avro prompt pipeline on a real broker against a registry run as production shops run it: governed
 * (clients may not register; CI registered the schemas), with other subject names, with Confluent's newer
 * framings, and with a subject that cannot take this job's records.
 */
class GovernedRegistryITCase {

    private static final int PARTITIONS = 2;
    private static final int PROMPTS = 12;
    private static final AvroSerdeOptions GOVERNED = AvroSerdeOptions.DEFAULTS.withAutoRegister(false);

    @RegisterExtension
    static final KafkaMiniClusterExtension KAFKA = KafkaMiniClusterExtension.withSlots(PARTITIONS);

    private LocalSchemaRegistry registry;
    private String prompts;
    private String completions;
    private String deadLetters;

    @BeforeEach
    void start() throws Exception {
        registry = LocalSchemaRegistry.start();
        prompts = KAFKA.topic("prompts", PARTITIONS);
        completions = KAFKA.topic("completions", PARTITIONS);
        deadLetters = KAFKA.topic("dead-letters", PARTITIONS);
    }

    @AfterEach
    void stop() {
        registry.close();
    }

    @Test
    void aRegistryThatRefusesRegistrationRunsTheJobWithTheSchemasRegisteredAhead() throws Exception {
        registerAhead(SubjectNameStrategy.TOPIC);
        registry.refuseRegistration(Refusal.FORBIDDEN);
        List<Prompt> sent = produce(GOVERNED, SchemaIdFraming.ID);

        runJob(GOVERNED, PARTITIONS, new Configuration());

        assertThat(answers(GOVERNED)).containsExactlyInAnyOrderElementsOf(requestIds(sent));
        assertThat(registry.requests()).noneMatch(request -> request.startsWith("POST") && request.endsWith("/versions"));
    }

    @Test
    void anIncompatiblePreRegisteredSubjectFailsTheJobOnceWithTheMessage() throws Exception {
        Schema completion = RecordSchemas.of(Completion.class);
        registry.register(completions + "-value", withoutField(completion, "prompt_tokens"));
        Configuration restarts = new Configuration();
        restarts.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        restarts.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
        restarts.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ZERO);
        String registration = "POST /subjects/" + completions + "-value/versions";

        assertThatThrownBy(() -> runJob(AvroSerdeOptions.DEFAULTS, 1, restarts))
                .satisfies(failure -> {
                    assertThat(ExceptionUtils.findThrowable(failure, SuppressRestartsException.class)).isPresent();
                    assertThat(ExceptionUtils.findThrowable(failure, WriterSchemaException.class)).hasValueSatisfying(e ->
                            assertThat(e).hasMessageContaining("under subject \"" + completions + "-value\" as incompatible"
                                            + " with its latest, version 1")
                                    .hasMessageContaining("The registry said: Schema being registered is incompatible"));
                });
        // With three restarts allowed, a restarting sink would have asked four times.
        assertThat(registry.requests()).filteredOn(registration::equals).hasSize(1);
    }

    @Test
    void promptsInAllThreeFramingsOnOneTopicAreAllAnswered() throws Exception {
        List<Prompt> sent = new ArrayList<>();
        for (SchemaIdFraming framing : SchemaIdFraming.values()) {
            sent.addAll(produce(AvroSerdeOptions.DEFAULTS.withFraming(framing), framing));
        }

        runJob(AvroSerdeOptions.DEFAULTS, PARTITIONS, new Configuration());

        assertThat(answers(AvroSerdeOptions.DEFAULTS)).containsExactlyInAnyOrderElementsOf(requestIds(sent));
        assertThat(sent).hasSize(3 * PROMPTS);
    }

    @Test
    void recordNameSubjectsAreWrittenUnderAndNamedByABadMagicByte() throws Exception {
        AvroSerdeOptions byRecord = GOVERNED.withSubjectNameStrategy(SubjectNameStrategy.RECORD);
        registerAhead(SubjectNameStrategy.RECORD);
        List<Prompt> sent = produce(byRecord, SchemaIdFraming.ID);
        KAFKA.produce(List.of(new ProducerRecord<>(prompts, 0, null, "{\"request_id\": \"r\"}".getBytes(UTF_8))));

        runJob(byRecord, PARTITIONS, new Configuration());

        assertThat(answers(byRecord)).containsExactlyInAnyOrderElementsOf(requestIds(sent));
        List<DeadLetter> dead = KAFKA.readCommitted(deadLetters, serde(DeadLetter.class, byRecord, null)::decode);
        assertThat(dead).singleElement().extracting(DeadLetter::reason).asString()
                .startsWith("bad_magic_byte: ")
                .endsWith("is the producer writing subject io.flinkglm.connectors.records.Prompt as Avro?");
        assertThat(registry.requests()).contains(
                "POST /subjects/io.flinkglm.connectors.records.Completion",
                "POST /subjects/io.flinkglm.connectors.records.DeadLetter");
    }

    /** What CI does in a governed shop: every subject the job uses holds the record's schema before it starts. */
    private void registerAhead(SubjectNameStrategy strategy) {
        registry.register(strategy.subject(prompts, RecordSchemas.of(Prompt.class)), RecordSchemas.of(Prompt.class));
        registry.register(strategy.subject(completions, RecordSchemas.of(Completion.class)), RecordSchemas.of(Completion.class));
        registry.register(strategy.subject(deadLetters, RecordSchemas.of(DeadLetter.class)), RecordSchemas.of(DeadLetter.class));
    }

    /** Sends {@link #PROMPTS} prompts as a Confluent producer with {@code framing} would; returns them. */
    private List<Prompt> produce(AvroSerdeOptions options, SchemaIdFraming framing) throws Exception {
        RecordSerde<Prompt> serde = serde(Prompt.class, options, prompts);
        serde.prepareToWrite();
        List<Prompt> sent = IntStream.range(0, PROMPTS)
                .mapToObj(i -> SampleRecords.textPrompt(framing + "-" + i, "conv-" + i % 5))
                .toList();
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (Prompt prompt : sent) {
            var record = new ProducerRecord<>(prompts, prompt.kafkaKey().getBytes(UTF_8), serde.encode(prompt));
            if (serde.valueSchemaIdHeader() != null) {
                record.headers().add(new RecordHeader(SchemaIdFraming.VALUE_SCHEMA_ID_HEADER, serde.valueSchemaIdHeader()));
            }
            records.add(record);
        }
        KAFKA.produce(records);
        return sent;
    }

    private List<String> answers(AvroSerdeOptions options) throws Exception {
        return KAFKA.readCommitted(completions, serde(Completion.class, options, null)::decode).stream()
                .map(Completion::requestId)
                .toList();
    }

    private static List<String> requestIds(List<Prompt> prompts) {
        return prompts.stream().map(Prompt::requestId).toList();
    }

    private void runJob(AvroSerdeOptions avro, int parallelism, Configuration conf) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(parallelism);
        env.enableCheckpointing(200); // exactly-once sinks commit on checkpoints, including the final one
        String registryUrl = registry.url().toString();

        var source = RecordKafkaSource.prompts()
                .setBootstrapServers(KAFKA.bootstrapServers())
                .setTopics(prompts)
                .setGroupId(KAFKA.name("group"))
                .setFormat(RecordFormat.AVRO)
                .setSchemaRegistryUrl(registryUrl)
                .setAvroOptions(avro)
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setBounded(OffsetsInitializer.latest())
                .build();
        DecodedSplit<Prompt> split = DecodedSplit.of(
                env.fromSource(source, WatermarkStrategy.noWatermarks(), "prompts"), Prompt.class);
        split.values()
                .map(GovernedRegistryITCase::echo, TypeInformation.of(Completion.class))
                .sinkTo(RecordKafkaSink.completions()
                        .setBootstrapServers(KAFKA.bootstrapServers())
                        .setTopic(completions)
                        .setFormat(RecordFormat.AVRO)
                        .setSchemaRegistryUrl(registryUrl)
                        .setAvroOptions(avro)
                        .setTransactionalIdPrefix(KAFKA.name("completions"))
                        .build());
        split.deadLetters()
                .sinkTo(RecordKafkaSink.deadLetters()
                        .setBootstrapServers(KAFKA.bootstrapServers())
                        .setTopic(deadLetters)
                        .setFormat(RecordFormat.AVRO)
                        .setSchemaRegistryUrl(registryUrl)
                        .setAvroOptions(avro)
                        .setTransactionalIdPrefix(KAFKA.name("dead-letters"))
                        .build());
        env.execute("governed registry pipeline");
    }

    /** The trivial model: answers each prompt with its own text. */
    private static Completion echo(Sourced<Prompt> read) {
        Prompt prompt = read.value();
        return Completion.builder(prompt.requestId(), prompt.conversationId()).text(prompt.text(), FinishReason.STOP).build();
    }

    private <T extends WireRecord> RecordSerde<T> serde(Class<T> type, AvroSerdeOptions options, String topic) {
        return RecordSerde.create(type, RecordFormat.AVRO, new SchemaRegistryClient(registry.url()), options, topic);
    }

    private static Schema withoutField(Schema schema, String name) {
        List<Schema.Field> fields = new ArrayList<>();
        schema.getFields().stream().filter(field -> !field.name().equals(name))
                .forEach(field -> fields.add(new Schema.Field(field, field.schema())));
        return Schema.createRecord(schema.getName(), schema.getDoc(), schema.getNamespace(), false, fields);
    }
}
