package io.flinkglm.connectors.kafka;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.flinkglm.connectors.formats.JsonRecordSerde;
import io.flinkglm.connectors.testing.SampleRecords;
import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.FinishReason;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.WireRecord;
import io.flinkglm.testkit.EmbeddedKafkaBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.ExceptionUtils;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A job reaches a secured cluster with nothing but options: the source and both sinks log in through
 * {@code glm.kafka.properties.*} (SASL PLAIN over SASL_PLAINTEXT), and a wrong password fails the job (run here without restarts) with
 * Kafka's own words ("Authentication failed: Invalid username or password") instead of retrying forever.
 */
class SaslKafkaITCase {

    private static final String USER = "alice";
    private static final String PASSWORD = "alice-secret";
    private static final Duration DEADLINE = Duration.ofSeconds(30);

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(1)
            .build());

    private static EmbeddedKafkaBroker kafka;

    @BeforeAll
    static void start() throws Exception {
        kafka = EmbeddedKafkaBroker.startWithSaslPlain(Map.of(USER, PASSWORD));
    }

    @AfterAll
    static void stop() {
        kafka.close();
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void aJobLogsInThroughGlmKafkaPropertiesAndAnswersEveryPrompt() throws Exception {
        List<Prompt> prompts = IntStream.range(0, 3).mapToObj(i -> SampleRecords.textPrompt("req-" + i, "conv-" + i)).toList();
        produce("sasl.prompts", prompts, "{not json".getBytes(UTF_8));

        runEchoJob(jobConfig(PASSWORD), "sasl.prompts", "sasl.completions", "sasl.dead-letters");

        assertThat(readCommitted("sasl.completions", Completion.class)).extracting(Completion::requestId)
                .containsExactly("req-0", "req-1", "req-2");
        assertThat(readCommitted("sasl.dead-letters", DeadLetter.class)).singleElement()
                .satisfies(letter -> assertThat(letter.reason()).startsWith("invalid_json:"));
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void aWrongPasswordFailsTheJobWithKafkasAuthenticationError() throws Exception {
        produce("sasl.wrong-password.prompts", List.of(SampleRecords.textPrompt("req-0", "conv-0")));

        Throwable failure = catchThrowable(() -> runEchoJob(jobConfig("not-" + PASSWORD),
                "sasl.wrong-password.prompts", "sasl.wrong-password.completions", "sasl.wrong-password.dead-letters"));

        assertThat(ExceptionUtils.findThrowable(failure, SaslAuthenticationException.class))
                .as("the job's failure names the authentication: %s", ExceptionUtils.stringifyException(failure))
                .hasValueSatisfying(e -> assertThat(e.getMessage()).contains("Authentication failed", "Invalid username or password"));
    }

    /** The job's settings as an operator would pass them: {@code --glm.kafka.properties.<key> value}. */
    private static Configuration jobConfig(String password) {
        Configuration config = new Configuration();
        config.set(KafkaConnectorOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        config.setString("glm.kafka.properties.security.protocol", "SASL_PLAINTEXT");
        config.setString("glm.kafka.properties.sasl.mechanism", "PLAIN");
        config.setString("glm.kafka.properties.sasl.jaas.config", EmbeddedKafkaBroker.plainJaasConfig(USER, password));
        return config;
    }

    private static void runEchoJob(Configuration config, String prompts, String completions, String deadLetters)
            throws Exception {
        for (String topic : List.of(completions, deadLetters)) {
            kafka.createTopic(topic, 1);
        }
        Configuration cluster = new Configuration();
        cluster.set(RestartStrategyOptions.RESTART_STRATEGY, "none"); // a failure must end the test, not loop
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(cluster);
        env.enableCheckpointing(200);
        var source = RecordKafkaSource.prompts().setTopics(prompts).configure(config)
                .setStartingOffsets(OffsetsInitializer.earliest())
                .setBounded(OffsetsInitializer.latest())
                .build();
        DecodedSplit<Prompt> split =
                DecodedSplit.of(env.fromSource(source, WatermarkStrategy.noWatermarks(), "prompts"), Prompt.class);
        split.values()
                .map(p -> Completion.builder(p.value().requestId(), p.value().conversationId())
                                .text(p.value().text(), FinishReason.STOP).build(),
                        TypeInformation.of(Completion.class))
                .sinkTo(RecordKafkaSink.completions().setTopic(completions).configure(config).build());
        split.deadLetters().sinkTo(RecordKafkaSink.deadLetters().setTopic(deadLetters).configure(config).build());
        env.execute("sasl echo");
    }

    private static void produce(String topic, List<Prompt> prompts, byte[]... poison) throws Exception {
        kafka.createTopic(topic, 1);
        JsonRecordSerde<Prompt> serde = new JsonRecordSerde<>(Prompt.class);
        Map<String, Object> props = new HashMap<>(kafka.clientProperties());
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        try (var producer = new KafkaProducer<byte[], byte[]>(props)) {
            for (Prompt prompt : prompts) {
                producer.send(new ProducerRecord<>(topic, prompt.kafkaKey().getBytes(UTF_8), serde.encode(prompt)));
            }
            for (byte[] value : poison) {
                producer.send(new ProducerRecord<>(topic, value));
            }
            producer.flush();
        }
    }

    private static <T extends WireRecord> List<T> readCommitted(String topic, Class<T> type) throws Exception {
        JsonRecordSerde<T> serde = new JsonRecordSerde<>(type);
        Map<String, Object> props = new HashMap<>(kafka.clientProperties());
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        try (var consumer = new KafkaConsumer<byte[], byte[]>(props)) {
            TopicPartition partition = new TopicPartition(topic, 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
            long end = consumer.endOffsets(List.of(partition)).get(partition);
            List<T> records = new ArrayList<>();
            long deadline = System.nanoTime() + DEADLINE.toNanos();
            while (consumer.position(partition) < end) {
                assertThat(System.nanoTime()).as("reading %s to its end within %s", topic, DEADLINE).isLessThan(deadline);
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    records.add(serde.decode(record.value()));
                }
            }
            return records;
        }
    }
}
