package io.flinkglm.connectors.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.RecordSerde;
import io.flinkglm.connectors.registry.SchemaRegistryClient;
import io.flinkglm.connectors.testing.SampleRecords;
import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.FinishReason;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Sourced;
import io.flinkglm.records.WireRecord;
import io.flinkglm.testkit.KafkaMiniClusterExtension;
import io.flinkglm.testkit.LocalSchemaRegistry;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Prompts and poison records on a real broker, through a Flink job with exactly-once sinks: every valid
 * prompt is answered exactly once and every poison record lands in the dead-letter topic with its reason.
 */
class PromptPipelineITCase {

    private static final int PARTITIONS = 2;
    private static final int VALID_PROMPTS = 40;
    private static final int MAX_RECORD_BYTES = 16 * 1024;

    @RegisterExtension
    static final KafkaMiniClusterExtension KAFKA = KafkaMiniClusterExtension.withSlots(PARTITIONS);

    private static LocalSchemaRegistry registry;

    @BeforeAll
    static void start() throws Exception {
        registry = LocalSchemaRegistry.start();
    }

    @AfterAll
    static void stop() {
        registry.close();
    }

    @ParameterizedTest
    @EnumSource(RecordFormat.class)
    void everyValidPromptIsAnsweredOnceAndEveryPoisonRecordIsDeadLettered(RecordFormat format) throws Exception {
        String prompts = KAFKA.topic("prompts", PARTITIONS);
        String completions = KAFKA.topic("completions", PARTITIONS);
        String deadLetters = KAFKA.topic("dead-letters", PARTITIONS);
        RecordSerde<Prompt> promptSerde = serde(Prompt.class, format, prompts);
        List<Prompt> valid = IntStream.range(0, VALID_PROMPTS)
                .mapToObj(i -> i % 2 == 0
                        ? SampleRecords.chatPrompt("req-" + i, "conv-" + i % 7)
                        : SampleRecords.textPrompt("req-" + i, "conv-" + i % 7))
                .toList();
        Map<String, byte[]> poison = poisonRecords(format, promptSerde);
        Map<String, String> reasonByPosition = produce(prompts, valid, promptSerde, poison);

        runJob(format, prompts, completions, deadLetters);

        List<Completion> answers = KAFKA.readCommitted(completions, serde(Completion.class, format, completions)::decode);
        assertThat(answers).extracting(Completion::requestId)
                .containsExactlyInAnyOrderElementsOf(valid.stream().map(Prompt::requestId).toList());
        List<DeadLetter> dead = KAFKA.readCommitted(deadLetters, serde(DeadLetter.class, format, deadLetters)::decode);
        Map<String, String> reasonPrefixes = dead.stream().collect(Collectors.toMap(
                d -> d.partition() + "@" + d.offset(), d -> d.reason().substring(0, d.reason().indexOf(':') + 1)));
        assertThat(reasonPrefixes).isEqualTo(reasonByPosition);
        assertThat(dead).allSatisfy(d -> assertThat(d.topic()).isEqualTo(prompts));
    }

    /** Poison records of {@code format}, by the reason prefix each must get. */
    private static Map<String, byte[]> poisonRecords(RecordFormat format, RecordSerde<Prompt> promptSerde) throws Exception {
        Map<String, byte[]> poison = new HashMap<>();
        poison.put("empty:", new byte[0]);
        poison.put("oversized:", new byte[MAX_RECORD_BYTES + 1]);
        if (format == RecordFormat.JSON) {
            poison.put("invalid_json:", "{\"request_id\": ".getBytes(UTF_8));
            poison.put("invalid_utf8:", new byte[] {'{', '"', (byte) 0xC3, '"', '}'});
            poison.put("invalid_record:", "{\"conversation_id\": \"c\", \"text\": \"hi\"}".getBytes(UTF_8));
        } else {
            byte[] good = promptSerde.encode(SampleRecords.chatPrompt("poison", "poison"));
            poison.put("truncated:", Arrays.copyOf(good, good.length / 2));
            poison.put("bad_magic_byte:", "{\"request_id\": \"r\"}".getBytes(UTF_8));
            byte[] unknownId = good.clone();
            ByteBuffer.wrap(unknownId, 1, 4).putInt(9999);
            poison.put("unknown_schema_id:", unknownId);
        }
        return poison;
    }

    /** Sends valid prompts and poison records interleaved; returns each poison record's position and reason. */
    private static Map<String, String> produce(String topic, List<Prompt> valid, RecordSerde<Prompt> serde,
            Map<String, byte[]> poison) throws Exception {
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        List<String> reasons = new ArrayList<>(); // null for a valid prompt
        List<Map.Entry<String, byte[]>> poisonList = new ArrayList<>(poison.entrySet());
        for (int i = 0; i < valid.size(); i++) {
            Prompt prompt = valid.get(i);
            records.add(new ProducerRecord<>(topic, prompt.kafkaKey().getBytes(UTF_8), serde.encode(prompt)));
            reasons.add(null);
            if (i < poisonList.size()) {
                records.add(new ProducerRecord<>(topic, i % PARTITIONS, null, poisonList.get(i).getValue()));
                reasons.add(poisonList.get(i).getKey());
            }
        }
        List<RecordMetadata> sent = KAFKA.produce(records);
        Map<String, String> reasonByPosition = new HashMap<>();
        for (int i = 0; i < sent.size(); i++) {
            if (reasons.get(i) != null) {
                reasonByPosition.put(sent.get(i).partition() + "@" + sent.get(i).offset(), reasons.get(i));
            }
        }
        return reasonByPosition;
    }

    private static void runJob(RecordFormat format, String prompts, String completions, String deadLetters)
            throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(PARTITIONS);
        env.enableCheckpointing(200); // exactly-once sinks commit on checkpoints, including the final one
        String registryUrl = registry.url().toString();

        var source = RecordKafkaSource.prompts()
                .setBootstrapServers(KAFKA.bootstrapServers())
                .setTopics(prompts)
                .setGroupId(KAFKA.name("group"))
                .setFormat(format)
                .setSchemaRegistryUrl(registryUrl)
                .setMaxRecordBytes(MAX_RECORD_BYTES)
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setBounded(OffsetsInitializer.latest())
                .build();
        DecodedSplit<Prompt> split = DecodedSplit.of(
                env.fromSource(source, WatermarkStrategy.noWatermarks(), "prompts"), Prompt.class);

        split.values()
                .map(PromptPipelineITCase::echo, TypeInformation.of(Completion.class))
                .sinkTo(RecordKafkaSink.completions()
                        .setBootstrapServers(KAFKA.bootstrapServers())
                        .setTopic(completions)
                        .setFormat(format)
                        .setSchemaRegistryUrl(registryUrl)
                        .setTransactionalIdPrefix(KAFKA.name("completions"))
                        .build());
        split.deadLetters()
                .sinkTo(RecordKafkaSink.deadLetters()
                        .setBootstrapServers(KAFKA.bootstrapServers())
                        .setTopic(deadLetters)
                        .setFormat(format)
                        .setSchemaRegistryUrl(registryUrl)
                        .setTransactionalIdPrefix(KAFKA.name("dead-letters"))
                        .build());
        env.execute("prompt pipeline " + format);
    }

    /** The trivial model: answers each prompt with its own text. */
    private static Completion echo(Sourced<Prompt> read) {
        Prompt prompt = read.value();
        String text = prompt.text() != null ? prompt.text() : prompt.messages().get(prompt.messages().size() - 1).content();
        return Completion.builder(prompt.requestId(), prompt.conversationId()).text(text, FinishReason.STOP).build();
    }

    private static <T extends WireRecord> RecordSerde<T> serde(Class<T> type, RecordFormat format, String topic) {
        return RecordSerde.create(type, format, new SchemaRegistryClient(registry.url()), topic);
    }
}
