package io.flinkglm.records;

import java.util.List;
import org.apache.flink.annotation.PublicEvolving;

/**
 * A record that travels on a Kafka topic: it names its Kafka key and checks its own cross-field rules.
 *
 * <p>Every serde in {@code io.flinkglm.connectors.formats} calls {@link #violations()} after decoding, so a
 * record that parses but breaks a rule (a prompt with neither text nor messages) becomes a dead letter in one
 * place rather than in each format.
 *
 * <pre>{@code
 * Completion c = ...;
 * producer.send(new ProducerRecord<>("glm.completions", c.kafkaKey(), bytes));
 * }</pre>
 */
@PublicEvolving
public interface WireRecord {

    /** The Kafka key: the conversation id, so every record of a conversation lands on one partition, in order. */
    String kafkaKey();

    /** Broken rules in words ({@code "request_id is missing"}); empty when the record is valid. */
    default List<String> violations() {
        return List.of();
    }

    /** Adds {@code "<field> is missing"} to {@code into} when {@code value} is null or blank. */
    static void requirePresent(List<String> into, String field, Object value) {
        if (value == null || (value instanceof String s && s.isBlank())) {
            into.add(field + " is missing");
        }
    }
}
