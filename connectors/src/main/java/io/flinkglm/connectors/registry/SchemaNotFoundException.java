package io.flinkglm.connectors.registry;

import org.apache.flink.annotation.PublicEvolving;

/**
 * The registry answered 404: the schema id or GUID, the subject (Confluent error code 40401), the version
 * (40402) or the schema under a subject (40403) does not exist. For an id or GUID in a record this is
 * permanent once the client's retries are spent: a record that names it can never be read.
 *
 * <pre>{@code
 * try { registry.schemaById(id); } catch (SchemaNotFoundException e) { deadLetter(e.getMessage()); }
 * }</pre>
 */
@PublicEvolving
public final class SchemaNotFoundException extends SchemaRegistryRefusalException {

    public SchemaNotFoundException(String message, int errorCode, String registryMessage) {
        super(message, 404, errorCode, registryMessage);
    }

    /** Confluent's error code for a subject that does not exist. */
    public static final int SUBJECT_NOT_FOUND = 40401;
    /** Confluent's error code for a version that does not exist under an existing subject. */
    public static final int VERSION_NOT_FOUND = 40402;
}
