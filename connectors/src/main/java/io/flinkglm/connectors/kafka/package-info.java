/**
 * Builders for Kafka sources of {@code Decoded<T>} (never failing on a poison record) and exactly-once sinks
 * of the output records, configured by the {@code ConfigOption}s in
 * {@link io.flinkglm.connectors.kafka.KafkaConnectorOptions}.
 *
 * <pre>{@code
 * KafkaSink<DeadLetter> dlq = RecordKafkaSink.deadLetters().configure(conf).build();
 * }</pre>
 */
package io.flinkglm.connectors.kafka;
