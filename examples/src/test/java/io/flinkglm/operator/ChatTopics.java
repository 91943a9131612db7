package io.flinkglm.operator;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.RecordSerde;
import io.flinkglm.connectors.kafka.DecodedSplit;
import io.flinkglm.connectors.kafka.RecordKafkaSource;
import io.flinkglm.records.Completion;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Sourced;
import io.flinkglm.testkit.KafkaMiniClusterExtension;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/** Chat inputs into and completions out of topics on the test's broker, in the JSON wire format. */
final class ChatTopics {
    static final int PARTITIONS = KafkaMiniClusterExtension.DEFAULT_PARTITIONS;

    private final KafkaMiniClusterExtension kafka;
    private final RecordSerde<Prompt> prompts = RecordSerde.create(Prompt.class, RecordFormat.JSON, null, "prompts");
    private final RecordSerde<Completion> completions =
            RecordSerde.create(Completion.class, RecordFormat.JSON, null, "completions");

    ChatTopics(KafkaMiniClusterExtension kafka) {
        this.kafka = kafka;
    }

    /** The partition a conversation's prompts go to: one per conversation, so its turns stay in order. */
    static TopicPartition partitionOf(String topic, ChatInput input) {
        return new TopicPartition(topic, Math.floorMod(input.conversationId().hashCode(), PARTITIONS));
    }

    /** Sends the inputs' prompts, each to its conversation's partition; returns how many each partition got. */
    Map<TopicPartition, Long> produce(String topic, List<ChatInput> inputs) throws Exception {
        return produce(topic, inputs, in -> null);
    }

    /** As {@link #produce(String, List)}, each record with the timestamp {@code timestamps} gives (null: now). */
    Map<TopicPartition, Long> produce(String topic, List<ChatInput> inputs, Function<ChatInput, Long> timestamps)
            throws Exception {
        Map<TopicPartition, Long> counts = new HashMap<>();
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (ChatInput input : inputs) {
            TopicPartition partition = partitionOf(topic, input);
            counts.merge(partition, 1L, Long::sum);
            records.add(new ProducerRecord<>(topic, partition.partition(), timestamps.apply(input),
                    input.prompt.kafkaKey().getBytes(UTF_8), prompts.encode(input.prompt)));
        }
        kafka.produce(records);
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
        return kafka.readCommitted(topic, completions::decode);
    }
}
