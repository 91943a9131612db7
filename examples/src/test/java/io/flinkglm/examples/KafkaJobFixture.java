package io.flinkglm.examples;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.RecordSerde;
import io.flinkglm.connectors.kafka.KafkaConnectorOptions;
import io.flinkglm.records.WireRecord;
import io.flinkglm.connectors.testing.EmbeddedKafkaBroker;
import io.flinkglm.operator.GlmOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * What the job ITCases share: one embedded broker, one tiny random model, and a job configuration whose
 * topics and transactional ids are prefixed per test so tests never see each other's records.
 */
final class KafkaJobFixture implements AutoCloseable {

    static final Duration READ_TIMEOUT = Duration.ofSeconds(60);
    private static final List<ConfigOption<String>> TOPICS = List.of(
            KafkaConnectorOptions.PROMPTS_TOPIC, KafkaConnectorOptions.TOOL_RESULTS_TOPIC,
            KafkaConnectorOptions.COMPLETIONS_TOPIC, KafkaConnectorOptions.FUNCTION_CALLS_TOPIC,
            KafkaConnectorOptions.SAFETY_VERDICTS_TOPIC, KafkaConnectorOptions.DEAD_LETTERS_TOPIC);

    final EmbeddedKafkaBroker kafka;
    final Path model;

    private KafkaJobFixture(EmbeddedKafkaBroker kafka, Path model) {
        this.kafka = kafka;
        this.model = model;
    }

    static KafkaJobFixture start(Path tempDir) throws Exception {
        Path model = tempDir.resolve("model");
        LocalDemo.ensureModel(model);
        return new KafkaJobFixture(EmbeddedKafkaBroker.start(), model);
    }

    /** A bounded job's configuration, its topics named {@code <prefix>.<default name>} and created. */
    Configuration jobConfig(String prefix) throws Exception {
        Configuration config = new Configuration();
        config.set(GlmOptions.MODEL_PATH, model.toString());
        config.set(GlmOptions.MAX_TOKENS, 6); // a random model never stops by itself
        config.set(KafkaConnectorOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        config.set(KafkaConnectorOptions.GROUP_ID, prefix);
        config.set(KafkaConnectorOptions.TRANSACTIONAL_ID_PREFIX, prefix);
        config.set(JobOptions.BOUNDED, true);
        config.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
        config.set(JobOptions.PARALLELISM, 1);
        for (ConfigOption<String> topic : TOPICS) {
            config.set(topic, prefix + "." + topic.defaultValue());
            kafka.createTopic(config.get(topic), 2);
        }
        return config;
    }

    /** Sends {@code records} as JSON, keyed by conversation, and waits for each to be acknowledged. */
    <T extends WireRecord> void produce(String topic, Class<T> type, List<T> records) throws Exception {
        RecordSerde<T> serde = RecordSerde.create(type, RecordFormat.JSON, null, topic);
        try (var producer = new KafkaProducer<byte[], byte[]>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class))) {
            for (T record : records) {
                producer.send(new ProducerRecord<>(topic, record.kafkaKey().getBytes(UTF_8), serde.encode(record))).get();
            }
        }
    }

    <T extends WireRecord> List<T> readCommitted(Configuration config, ConfigOption<String> topic, Class<T> type)
            throws Exception {
        return CommittedRecords.read(kafka.bootstrapServers(), config.get(topic), type, READ_TIMEOUT);
    }

    @Override
    public void close() {
        kafka.close();
    }
}
