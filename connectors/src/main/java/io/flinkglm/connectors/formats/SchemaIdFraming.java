package io.flinkglm.connectors.formats;

import org.apache.flink.annotation.PublicEvolving;

/**
 * Where an Avro writer puts the registry's name for its schema. Readers accept all three on one topic, as
 * Confluent's {@code DualSchemaIdDeserializer} does; writers use {@link #ID} unless configured otherwise,
 * since every Confluent client reads it.
 *
 * <pre>{@code
 * builder.setSchemaIdFraming(SchemaIdFraming.HEADER);
 * }</pre>
 */
@PublicEvolving
public enum SchemaIdFraming {
    /** Value = magic byte {@code 0}, 4-byte big-endian schema id, datum: the classic Confluent wire format. */
    ID,
    /** Value = magic byte {@code 1}, 16-byte schema GUID, datum: Confluent's {@code PrefixSchemaIdSerializer} with GUIDs. */
    GUID,
    /**
     * Value = the datum alone; the Kafka header {@value #VALUE_SCHEMA_ID_HEADER} holds magic byte {@code 1} and
     * the GUID: Confluent's {@code HeaderSchemaIdSerializer}.
     */
    HEADER;

    /** The record header Confluent's clients carry a value's schema id or GUID in. */
    public static final String VALUE_SCHEMA_ID_HEADER = "__value_schema_id";

    static final byte MAGIC_ID = 0;
    static final byte MAGIC_GUID = 1;
    static final int ID_PREFIX_BYTES = 5;
    static final int GUID_PREFIX_BYTES = 17;
}
