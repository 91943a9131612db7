package io.flinkglm.examples;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.RecordSerde;
import io.flinkglm.connectors.kafka.KafkaConnectorOptions;
import io.flinkglm.operator.GlmOptions;
import io.flinkglm.records.WireRecord;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.testkit.KafkaMiniClusterExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The test kit's {@link KafkaMiniClusterExtension} for the job ITCases: one slot, as the jobs run at parallelism
 * 1, and the demo's tiny model; plus a bounded job's configuration whose topics, consumer group and
 * transactional ids are the running test's own, and typed records in and out in the JSON wire format.
 */
final class KafkaJobs extends KafkaMiniClusterExtension {

    /** A function the model may call: get_weather(city). */
    static final String WEATHER_TOOLS = "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\","
            + " \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}}}]";

    private static final List<ConfigOption<String>> TOPICS = List.of(
            KafkaConnectorOptions.PROMPTS_TOPIC, KafkaConnectorOptions.TOOL_RESULTS_TOPIC,
            KafkaConnectorOptions.COMPLETIONS_TOPIC, KafkaConnectorOptions.FUNCTION_CALLS_TOPIC,
            KafkaConnectorOptions.SAFETY_VERDICTS_TOPIC, KafkaConnectorOptions.DEAD_LETTERS_TOPIC);

    KafkaJobs() {
        super(1, DType.F32, LocalDemo.DEMO_MODEL_SEED);
    }

    /** A bounded job's configuration, its topics named {@code <test>.<prefix>.<default name>} and created. */
    Configuration jobConfig(String prefix) throws Exception {
        Configuration config = new Configuration();
        config.set(GlmOptions.MODEL_PATH, model().toString());
        config.set(GlmOptions.MAX_TOKENS, 6); // a random model never stops by itself
        config.set(KafkaConnectorOptions.BOOTSTRAP_SERVERS, bootstrapServers());
        config.set(KafkaConnectorOptions.GROUP_ID, name(prefix));
        config.set(KafkaConnectorOptions.TRANSACTIONAL_ID_PREFIX, name(prefix));
        config.set(JobOptions.BOUNDED, true);
        config.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(300));
        config.set(JobOptions.PARALLELISM, 1);
        for (ConfigOption<String> topic : TOPICS) {
            config.set(topic, topic(prefix + "." + topic.defaultValue()));
        }
        return config;
    }

    /** Sends {@code records} as JSON, keyed by conversation, each acknowledged before the next. */
    <T extends WireRecord> void produce(String topic, Class<T> type, List<T> records) throws Exception {
        RecordSerde<T> serde = RecordSerde.create(type, RecordFormat.JSON, null, topic);
        List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
        for (T record : records) {
            sent.add(new ProducerRecord<>(topic, record.kafkaKey().getBytes(UTF_8), serde.encode(record)));
        }
        produce(sent);
    }

    /** Every committed JSON record of the job's {@code topic}. */
    <T extends WireRecord> List<T> readCommitted(Configuration config, ConfigOption<String> topic, Class<T> type)
            throws Exception {
        String name = config.get(topic);
        return readCommitted(name, RecordSerde.create(type, RecordFormat.JSON, null, name)::decode);
    }
}
