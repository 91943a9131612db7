package io.flinkglm.operator;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.RecordSerde;
import io.flinkglm.connectors.kafka.DecodedSplit;
import io.flinkglm.connectors.kafka.RecordKafkaSource;
import io.flinkglm.records.Completion;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Sourced;
import io.flinkglm.connectors.testing.EmbeddedKafkaBroker;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/** Prompts into and completions out of topics on the embedded broker, in the JSON wire format. */
final class ChatTopics {
    static final int PARTITIONS = 2;
    private static final Duration READ_DEADLINE = Duration.ofSeconds(60);

    private final EmbeddedKafkaBroker kafka;
    private final RecordSerde<Prompt> prompts = RecordSerde.create(Prompt.class, RecordFormat.JSON, null, "prompts");
    private final RecordSerde<Completion> completions =
            RecordSerde.create(Completion.class, RecordFormat.JSON, null, "completions");

    ChatTopics(EmbeddedKafkaBroker kafka) {
        this.kafka = kafka;
    }

    void create(String... topics) throws InterruptedException {
        for (String topic : topics) {
            kafka.createTopic(topic, PARTITIONS);
        }
    }

    /**
     * Sends the prompts, each conversation to one partition (so its turns stay in order); returns how
     * many records each partition got.
     */
    Map<TopicPartition, Long> produce(String topic, List<ChatInput> inputs) throws Exception {
        Map<TopicPartition, Long> counts = new HashMap<>();
        try (var producer = new KafkaProducer<byte[], byte[]>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class))) {
            for (ChatInput input : inputs) {
                Prompt prompt = input.prompt;
                int partition = Math.floorMod(prompt.conversationId().hashCode(), PARTITIONS);
                producer.send(new ProducerRecord<>(topic, partition, prompt.kafkaKey().getBytes(UTF_8),
                        prompts.encode(prompt))).get();
                counts.merge(new TopicPartition(topic, partition), 1L, Long::sum);
            }
        }
        return counts;
    }

    /** The prompts topic, decoded; bounded at {@code stoppingOffsets}, or unbounded when null. */
    DataStream<Sourced<Prompt>> source(StreamExecutionEnvironment env, String topic, OffsetsInitializer stoppingOffsets) {
        var builder = RecordKafkaSource.prompts()
                .setBootstrapServers(kafka.bootstrapServers())
                .setTopics(topic)
                .setGroupId("it-" + topic)
                .setStartingOffsets(OffsetsInitializer.earliest());
        if (stoppingOffsets != null) {
            builder.setBounded(stoppingOffsets);
        }
        return DecodedSplit.of(env.fromSource(builder.build(), WatermarkStrategy.noWatermarks(), "prompts")
                        .uid("prompts"), Prompt.class)
                .values().uid("decoded-prompts");
    }

    /** Everything committed on {@code topic}, read to its end. */
    List<Completion> readCommitted(String topic) throws Exception {
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
            List<Completion> records = new ArrayList<>();
            long deadline = System.nanoTime() + READ_DEADLINE.toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))) {
                assertThat(System.nanoTime()).as("reading %s to its end within %s", topic, READ_DEADLINE)
                        .isLessThan(deadline);
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    records.add(completions.decode(record.value()));
                }
            }
            return records;
        }
    }
}
