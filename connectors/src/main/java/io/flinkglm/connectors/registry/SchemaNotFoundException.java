package io.flinkglm.connectors.registry;

import java.io.IOException;
import org.apache.flink.annotation.PublicEvolving;

/**
 * The registry answered that a schema id does not exist (HTTP 404, Confluent error code 40403). Unlike other
 * registry failures this is permanent: a record that names the id can never be read.
 *
 * <pre>{@code
 * try { registry.schemaById(id); } catch (SchemaNotFoundException e) { deadLetter(e.getMessage()); }
 * }</pre>
 */
@PublicEvolving
public final class SchemaNotFoundException extends IOException {

    public SchemaNotFoundException(String message) {
        super(message);
    }
}
