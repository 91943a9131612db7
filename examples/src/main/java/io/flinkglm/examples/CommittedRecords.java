package io.flinkglm.examples;

import io.flinkglm.connectors.formats.MalformedRecordException;
import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.RecordSerde;
import io.flinkglm.records.WireRecord;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import org.apache.flink.annotation.Internal;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads what a job has committed to a topic, as a downstream application would: {@code read_committed},
 * so records of aborted or still open transactions are never seen. For the demo and the tests, once the
 * job has finished.
 *
 * <pre>{@code
 * List<Completion> answers = CommittedRecords.read(kafka.bootstrapServers(), "glm.completions",
 *         Completion.class, Duration.ofSeconds(30));
 * }</pre>
 */
@Internal
public final class CommittedRecords {

    private CommittedRecords() {}

    /**
     * Every committed JSON record of {@code topic}, partition by partition in offset order, read up to the
     * topic's last stable offsets at the time of the call.
     *
     * @throws TimeoutException when the records up to those offsets are not read within {@code timeout}
     */
    public static <T extends WireRecord> List<T> read(String bootstrapServers, String topic, Class<T> type,
            Duration timeout) throws IOException, TimeoutException {
        return read(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers), topic, type, timeout);
    }

    /**
     * As {@link #read(String, String, Class, Duration)}, with the consumer's {@code clientProperties}
     * ({@code bootstrap.servers}, and security or fetch-size settings where the cluster needs them).
     */
    public static <T extends WireRecord> List<T> read(Map<String, ?> clientProperties, String topic, Class<T> type,
            Duration timeout) throws IOException, TimeoutException {
        RecordSerde<T> serde = RecordSerde.create(type, RecordFormat.JSON, null, topic);
        Map<String, Object> props = new HashMap<>(clientProperties);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        try (var consumer = new KafkaConsumer<byte[], byte[]>(props)) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic, timeout).stream()
                    .map(p -> new TopicPartition(topic, p.partition()))
                    .toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            // Under read_committed the end offsets are the last stable offsets: nothing past an open transaction.
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, timeout);
            List<T> records = new ArrayList<>();
            long deadline = System.nanoTime() + timeout.toNanos();
            while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))) {
                if (System.nanoTime() > deadline) {
                    throw new TimeoutException("read " + records.size() + " records of " + topic + " in " + timeout
                            + " but it has more up to offsets " + ends);
                }
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    try {
                        records.add(serde.decode(record.value()));
                    } catch (MalformedRecordException e) { // the job wrote it: a bug, not bad input
                        throw new IllegalStateException(topic + "-" + record.partition() + "@" + record.offset()
                                + " is not a " + type.getSimpleName() + ": " + e.getMessage(), e);
                    }
                }
            }
            return records;
        }
    }
}
