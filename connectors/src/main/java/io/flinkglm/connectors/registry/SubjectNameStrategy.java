package io.flinkglm.connectors.registry;

import org.apache.avro.Schema;
import org.apache.flink.annotation.PublicEvolving;

/**
 * How a topic's value schema is named in the registry, as Confluent's {@code value.subject.name.strategy}
 * classes of the same names do.
 *
 * <pre>{@code
 * SubjectNameStrategy.TOPIC_RECORD.subject("glm.prompts", schema); // "glm.prompts-io.flinkglm.connectors.records.Prompt"
 * }</pre>
 */
@PublicEvolving
public enum SubjectNameStrategy {
    /** {@code <topic>-value}: one record type per topic. Confluent's {@code TopicNameStrategy}, the default. */
    TOPIC,
    /** The record's full name, e.g. {@code io.flinkglm.connectors.records.Prompt}, whatever the topic. Confluent's {@code RecordNameStrategy}. */
    RECORD,
    /** {@code <topic>-<record full name>}. Confluent's {@code TopicRecordNameStrategy}. */
    TOPIC_RECORD;

    /** The subject of a value of {@code schema} on {@code topic}. */
    public String subject(String topic, Schema schema) {
        return switch (this) {
            case TOPIC -> topic + "-value";
            case RECORD -> schema.getFullName();
            case TOPIC_RECORD -> topic + "-" + schema.getFullName();
        };
    }
}
