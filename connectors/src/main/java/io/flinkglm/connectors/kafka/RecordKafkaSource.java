package io.flinkglm.connectors.kafka;

import io.flinkglm.records.Decoded;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.ToolResult;
import io.flinkglm.records.WireRecord;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/**
 * Builds a {@link KafkaSource} of {@code Decoded<T>} for prompts or tool results. It never fails on a bad record:
 * see {@link DecodingDeserializationSchema}. Split the stream with {@link DecodedSplit}.
 *
 * <pre>{@code
 * KafkaSource<Decoded<Prompt>> source = RecordKafkaSource.prompts()
 *     .setBootstrapServers("kafka:9092")
 *     .setTopics("glm.prompts")
 *     .setGroupId("glm")
 *     .build();
 * DataStream<Decoded<Prompt>> decoded = env.fromSource(source, WatermarkStrategy.noWatermarks(), "prompts");
 * }</pre>
 */
@PublicEvolving
public final class RecordKafkaSource {

    private RecordKafkaSource() {}

    public static Builder<Prompt> prompts() {
        return builder(Prompt.class);
    }

    public static Builder<ToolResult> toolResults() {
        return builder(ToolResult.class);
    }

    public static <T extends WireRecord> Builder<T> builder(Class<T> type) {
        return new Builder<>(type);
    }

    /** Fluent builder; each setter checks its argument, {@link #build()} checks the combination. */
    public static final class Builder<T extends WireRecord> extends RecordEndpointBuilder<T, Builder<T>> {

        private final List<String> topics = new ArrayList<>();
        private String groupId = KafkaConnectorOptions.GROUP_ID.defaultValue();
        private long maxRecordBytes = KafkaConnectorOptions.MAX_RECORD_SIZE.defaultValue().getBytes();
        private OffsetsInitializer startingOffsets =
                OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
        private OffsetsInitializer stoppingOffsets;

        private Builder(Class<T> type) {
            super(type);
        }

        /** Also reads the group id, the record size limit and the topic of {@code T} (prompts or tool results). */
        @Override
        public Builder<T> configure(ReadableConfig config) {
            super.configure(config);
            config.getOptional(KafkaConnectorOptions.GROUP_ID).ifPresent(this::setGroupId);
            config.getOptional(KafkaConnectorOptions.MAX_RECORD_SIZE).ifPresent(size -> setMaxRecordBytes(size.getBytes()));
            if (topics.isEmpty() && type == Prompt.class) {
                setTopics(config.get(KafkaConnectorOptions.PROMPTS_TOPIC));
            } else if (topics.isEmpty() && type == ToolResult.class) {
                setTopics(config.get(KafkaConnectorOptions.TOOL_RESULTS_TOPIC));
            }
            return this;
        }

        public Builder<T> setTopics(String... topics) {
            Arrays.stream(topics).forEach(topic -> requireText(topic, "topic"));
            this.topics.clear();
            this.topics.addAll(Arrays.asList(topics));
            return this;
        }

        public Builder<T> setGroupId(String groupId) {
            this.groupId = requireText(groupId, "group id");
            return this;
        }

        /** Larger records become dead letters without being parsed. Default 1 MiB, Kafka's own default limit. */
        public Builder<T> setMaxRecordBytes(long maxRecordBytes) {
            if (maxRecordBytes <= 0) {
                throw new IllegalArgumentException("max record bytes must be positive, not " + maxRecordBytes);
            }
            this.maxRecordBytes = maxRecordBytes;
            return this;
        }

        /** Where to start; default the group's committed offsets, or the earliest when it has none. */
        public Builder<T> setStartingOffsets(OffsetsInitializer startingOffsets) {
            this.startingOffsets = Objects.requireNonNull(startingOffsets, "starting offsets");
            return this;
        }

        /** Makes the source finite: it stops at these offsets (tests, backfills). */
        public Builder<T> setBounded(OffsetsInitializer stoppingOffsets) {
            this.stoppingOffsets = Objects.requireNonNull(stoppingOffsets, "stopping offsets");
            return this;
        }

        public KafkaSource<Decoded<T>> build() {
            checkEndpoint();
            if (topics.isEmpty()) {
                throw new IllegalStateException("no topic to read " + type.getSimpleName() + " from: call setTopics(...)");
            }
            KafkaSourceBuilder<Decoded<T>> kafka = KafkaSource.<Decoded<T>>builder()
                    // Upstream producers may write in transactions; never hand the model an aborted prompt.
                    .setProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed")
                    .setProperties(properties)
                    .setBootstrapServers(bootstrapServers)
                    .setTopics(topics)
                    .setGroupId(groupId)
                    .setStartingOffsets(startingOffsets)
                    .setDeserializer(new DecodingDeserializationSchema<>(type, format, schemaRegistry(), avroOptions(), maxRecordBytes));
            if (stoppingOffsets != null) {
                kafka.setBounded(stoppingOffsets);
            }
            return kafka.build();
        }
    }
}
