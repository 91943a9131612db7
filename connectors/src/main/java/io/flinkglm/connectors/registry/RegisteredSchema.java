package io.flinkglm.connectors.registry;

import java.util.UUID;
import org.apache.avro.Schema;
import org.apache.flink.annotation.PublicEvolving;

/**
 * A schema as the registry knows it under a subject.
 *
 * <pre>{@code
 * RegisteredSchema latest = registry.version("glm.completions-value", "latest");
 * }</pre>
 *
 * @param subject the subject
 * @param version its version under the subject; null when the answer did not say (a registration)
 * @param id the global id, what magic byte 0 framing carries
 * @param guid the global GUID, what magic byte 1 framing carries; null from registries older than Confluent's
 *     8.0, which have none
 * @param schema the Avro schema
 */
@PublicEvolving
public record RegisteredSchema(String subject, Integer version, int id, UUID guid, Schema schema) {

    /** {@code subject "s" version 3 (id 7)}, for messages. */
    public String describe() {
        return "subject \"" + subject + "\"" + (version == null ? "" : " version " + version) + " (id " + id + ")";
    }
}
