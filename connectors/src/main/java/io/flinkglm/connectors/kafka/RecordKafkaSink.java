package io.flinkglm.connectors.kafka;

import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.FunctionCall;
import io.flinkglm.records.SafetyVerdict;
import io.flinkglm.records.WireRecord;
import java.util.Map;
import java.util.Objects;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.kafka.clients.producer.ProducerConfig;

/**
 * Builds a {@link KafkaSink} for one output record type, keyed by conversation id. Exactly-once by default:
 * records are written in Kafka transactions committed when a checkpoint completes, so readers with
 * {@code isolation.level=read_committed} see each answer once even across restarts.
 *
 * <pre>{@code
 * KafkaSink<Completion> sink = RecordKafkaSink.completions()
 *     .setBootstrapServers("kafka:9092")
 *     .setTopic("glm.completions")
 *     .setTransactionalIdPrefix("glm-job-1")
 *     .build();
 * completions.sinkTo(sink);
 * }</pre>
 */
@PublicEvolving
public final class RecordKafkaSink {

    /**
     * The broker's default {@code transaction.max.timeout.ms}. Flink's own default producer timeout is one hour,
     * which a default broker rejects at the first transaction.
     */
    static final String DEFAULT_TRANSACTION_TIMEOUT_MS = String.valueOf(15 * 60 * 1000);

    private static final Map<Class<?>, ConfigOption<String>> TOPIC_OPTIONS = Map.of(
            Completion.class, KafkaConnectorOptions.COMPLETIONS_TOPIC,
            FunctionCall.class, KafkaConnectorOptions.FUNCTION_CALLS_TOPIC,
            SafetyVerdict.class, KafkaConnectorOptions.SAFETY_VERDICTS_TOPIC,
            DeadLetter.class, KafkaConnectorOptions.DEAD_LETTERS_TOPIC);

    private RecordKafkaSink() {}

    public static Builder<Completion> completions() {
        return builder(Completion.class);
    }

    public static Builder<FunctionCall> functionCalls() {
        return builder(FunctionCall.class);
    }

    public static Builder<SafetyVerdict> safetyVerdicts() {
        return builder(SafetyVerdict.class);
    }

    public static Builder<DeadLetter> deadLetters() {
        return builder(DeadLetter.class);
    }

    public static <T extends WireRecord> Builder<T> builder(Class<T> type) {
        return new Builder<>(type);
    }

    /** Fluent builder; each setter checks its argument, {@link #build()} checks the combination. */
    public static final class Builder<T extends WireRecord> extends RecordEndpointBuilder<T, Builder<T>> {

        private String topic;
        private DeliveryGuarantee deliveryGuarantee = KafkaConnectorOptions.DELIVERY_GUARANTEE.defaultValue();
        private String transactionalIdPrefix;

        private Builder(Class<T> type) {
            super(type);
        }

        /** Also reads the delivery guarantee, the transactional id prefix and the topic of {@code T}. */
        @Override
        public Builder<T> configure(ReadableConfig config) {
            super.configure(config);
            config.getOptional(KafkaConnectorOptions.DELIVERY_GUARANTEE).ifPresent(this::setDeliveryGuarantee);
            ConfigOption<String> topicOption = TOPIC_OPTIONS.get(type);
            if (topic == null && topicOption != null) {
                setTopic(config.get(topicOption));
            }
            if (transactionalIdPrefix == null && topic != null) {
                // One prefix per sink: two sinks of a job sharing transactional ids would fence each other.
                setTransactionalIdPrefix(config.get(KafkaConnectorOptions.TRANSACTIONAL_ID_PREFIX) + "." + topic);
            }
            return this;
        }

        public Builder<T> setTopic(String topic) {
            this.topic = requireText(topic, "topic");
            return this;
        }

        public Builder<T> setDeliveryGuarantee(DeliveryGuarantee deliveryGuarantee) {
            this.deliveryGuarantee = Objects.requireNonNull(deliveryGuarantee, "delivery guarantee");
            return this;
        }

        /** Unique per sink and per job on a cluster; required for {@link DeliveryGuarantee#EXACTLY_ONCE}. */
        public Builder<T> setTransactionalIdPrefix(String transactionalIdPrefix) {
            this.transactionalIdPrefix = requireText(transactionalIdPrefix, "transactional id prefix");
            return this;
        }

        public KafkaSink<T> build() {
            checkEndpoint();
            if (topic == null) {
                throw new IllegalStateException("no topic to write " + type.getSimpleName() + " to: call setTopic(...)");
            }
            if (deliveryGuarantee == DeliveryGuarantee.EXACTLY_ONCE && transactionalIdPrefix == null) {
                throw new IllegalStateException("EXACTLY_ONCE needs a transactional id prefix unique to this sink and job:"
                        + " call setTransactionalIdPrefix(...), or setDeliveryGuarantee(AT_LEAST_ONCE)");
            }
            var kafka = KafkaSink.<T>builder()
                    .setKafkaProducerConfig(properties)
                    .setBootstrapServers(bootstrapServers)
                    .setDeliveryGuarantee(deliveryGuarantee)
                    .setRecordSerializer(new WireRecordSerializationSchema<>(type, topic, format, schemaRegistry(), avroOptions()));
            if (deliveryGuarantee == DeliveryGuarantee.EXACTLY_ONCE) {
                kafka.setTransactionalIdPrefix(transactionalIdPrefix);
                if (!properties.containsKey(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG)) {
                    kafka.setProperty(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, DEFAULT_TRANSACTION_TIMEOUT_MS);
                }
            }
            return kafka.build();
        }
    }
}
