package io.flinkglm.connectors.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.RecordSerde;
import io.flinkglm.records.Completion;
import io.flinkglm.records.FinishReason;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Sourced;
import io.flinkglm.records.WireRecord;
import io.flinkglm.connectors.registry.SchemaRegistryClient;
import io.flinkglm.connectors.testing.EmbeddedKafkaBroker;
import io.flinkglm.connectors.testing.LocalSchemaRegistry;
import io.flinkglm.connectors.testing.SampleRecords;
import java.nio.ByteBuffer;
import java.time.Duration;
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
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
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
    private static final Duration DEADLINE = Duration.ofSeconds(60);

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(PARTITIONS)
            .build());

    private static EmbeddedKafkaBroker kafka;
    private static LocalSchemaRegistry registry;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafkaBroker.start();
        registry = LocalSchemaRegistry.start();
    }

    @AfterAll
    static void stop() {
        registry.close();
        kafka.close();
    }

    @ParameterizedTest
    @EnumSource(RecordFormat.class)
    void everyValidPromptIsAnsweredOnceAndEveryPoisonRecordIsDeadLettered(RecordFormat format) throws Exception {
        String prompts = "prompts-" + format;
        String completions = "completions-" + format;
        String deadLetters = "dead-letters-" + format;
        for (String topic : List.of(prompts, completions, deadLetters)) {
            kafka.createTopic(topic, PARTITIONS);
        }
        RecordSerde<Prompt> promptSerde = serde(Prompt.class, format, prompts);
        List<Prompt> valid = IntStream.range(0, VALID_PROMPTS)
                .mapToObj(i -> i % 2 == 0
                        ? SampleRecords.chatPrompt("req-" + i, "conv-" + i % 7)
                        : SampleRecords.textPrompt("req-" + i, "conv-" + i % 7))
                .toList();
        Map<String, byte[]> poison = poisonRecords(format, promptSerde);
        Map<String, String> reasonByPosition = produce(prompts, valid, promptSerde, poison);

        runJob(format, prompts, completions, deadLetters);

        List<Completion> answers = readCommitted(completions, serde(Completion.class, format, completions));
        assertThat(answers).extracting(Completion::requestId)
                .containsExactlyInAnyOrderElementsOf(valid.stream().map(Prompt::requestId).toList());
        List<DeadLetter> dead = readCommitted(deadLetters, serde(DeadLetter.class, format, deadLetters));
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
        Map<String, String> reasonByPosition = new HashMap<>();
        try (var producer = new KafkaProducer<byte[], byte[]>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class))) {
            List<Map.Entry<String, byte[]>> poisonList = new ArrayList<>(poison.entrySet());
            for (int i = 0; i < valid.size(); i++) {
                Prompt prompt = valid.get(i);
                producer.send(new ProducerRecord<>(topic, prompt.kafkaKey().getBytes(UTF_8), serde.encode(prompt)));
                if (i < poisonList.size()) {
                    var entry = poisonList.get(i);
                    RecordMetadata sent = producer.send(new ProducerRecord<>(topic, i % PARTITIONS, null, entry.getValue())).get();
                    reasonByPosition.put(sent.partition() + "@" + sent.offset(), entry.getKey());
                }
            }
            producer.flush();
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
                .setBootstrapServers(kafka.bootstrapServers())
                .setTopics(prompts)
                .setGroupId("it-" + format)
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
                        .setBootstrapServers(kafka.bootstrapServers())
                        .setTopic(completions)
                        .setFormat(format)
                        .setSchemaRegistryUrl(registryUrl)
                        .setTransactionalIdPrefix("it-" + completions)
                        .build());
        split.deadLetters()
                .sinkTo(RecordKafkaSink.deadLetters()
                        .setBootstrapServers(kafka.bootstrapServers())
                        .setTopic(deadLetters)
                        .setFormat(format)
                        .setSchemaRegistryUrl(registryUrl)
                        .setTransactionalIdPrefix("it-" + deadLetters)
                        .build());
        env.execute("prompt pipeline " + format);
    }

    /** The trivial model: answers each prompt with its own text. */
    private static Completion echo(Sourced<Prompt> read) {
        Prompt prompt = read.value();
        String text = prompt.text() != null ? prompt.text() : prompt.messages().get(prompt.messages().size() - 1).content();
        return Completion.builder(prompt.requestId(), prompt.conversationId()).text(text, FinishReason.STOP).build();
    }

    /** Everything committed on {@code topic}, read to its end: the job has finished, so nothing more can come. */
    private static <T extends WireRecord> List<T> readCommitted(String topic, RecordSerde<T> serde) throws Exception {
        try (var consumer = new KafkaConsumer<byte[], byte[]>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class))) {
            List<TopicPartition> partitions = IntStream.range(0, PARTITIONS)
                    .mapToObj(p -> new TopicPartition(topic, p)).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions); // the last stable offsets
            List<T> records = new ArrayList<>();
            long deadline = System.nanoTime() + DEADLINE.toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))) {
                assertThat(System.nanoTime()).as("reading %s to its end within %s", topic, DEADLINE).isLessThan(deadline);
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    records.add(serde.decode(record.value()));
                }
            }
            return records;
        }
    }

    private static <T extends WireRecord> RecordSerde<T> serde(Class<T> type, RecordFormat format, String topic) {
        return RecordSerde.create(type, format, new SchemaRegistryClient(registry.url()), topic);
    }
}
