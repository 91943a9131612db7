package io.flinkglm.connectors.formats;

import org.apache.flink.annotation.PublicEvolving;

/**
 * How records are written on a topic.
 *
 * <pre>{@code
 * builder.setFormat(RecordFormat.AVRO).setSchemaRegistryUrl("http://registry:8081");
 * }</pre>
 */
@PublicEvolving
public enum RecordFormat {
    /** UTF-8 JSON, snake_case field names. */
    JSON,
    /** Avro binary in the Confluent wire format: magic byte 0, 4-byte big-endian schema id, datum. */
    AVRO
}
