package io.flinkglm.testkit;

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
 * Reads what a job has committed to a topic, as a downstream application would: {@code read_committed}, so
 * records of aborted or still open transactions are never seen. For the demo and the tests, once the job has
 * finished or committed what is awaited. Values are decoded by the caller's {@link Decoder} (the kit knows
 * no record format).
 *
 * <pre>{@code
 * RecordSerde<Completion> serde = RecordSerde.create(Completion.class, RecordFormat.JSON, null, "glm.completions");
 * List<Completion> answers = CommittedRecords.read(kafka.clientProperties(), "glm.completions", serde::decode,
 *         Duration.ofSeconds(60));
 * }</pre>
 */
@Internal
public final class CommittedRecords {

    /** Turns a record's value into what the caller reads; throwing marks the record as not what the job should write. */
    @FunctionalInterface
    public interface Decoder<T> {
        T decode(byte[] value) throws Exception;
    }

    private CommittedRecords() {}

    /**
     * Every committed record of {@code topic}, decoded, partition by partition in offset order, read up to the
     * topic's last stable offsets at the time of the call.
     *
     * @param clientProperties {@code bootstrap.servers}, and security or fetch-size settings where the cluster
     *     needs them
     * @throws TimeoutException when the records up to those offsets are not read within {@code timeout}
     * @throws IllegalStateException naming the record's position when a value does not decode: the job wrote it,
     *     so it is a bug, not bad input
     */
    public static <T> List<T> read(Map<String, ?> clientProperties, String topic, Decoder<T> decoder, Duration timeout)
            throws TimeoutException {
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
                        records.add(decoder.decode(record.value()));
                    } catch (Exception e) {
                        throw new IllegalStateException(topic + "-" + record.partition() + "@" + record.offset()
                                + " does not decode: " + e.getMessage(), e);
                    }
                }
            }
            return records;
        }
    }
}
