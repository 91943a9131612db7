package io.flinkglm.connectors.formats;

import io.flinkglm.connectors.registry.SubjectNameStrategy;
import java.io.Serializable;
import java.util.Objects;
import org.apache.flink.annotation.PublicEvolving;

/**
 * How the Avro format uses the schema registry, with the semantics of Confluent's serializer settings of
 * similar names. Serializable, so sources and sinks carry it to the tasks.
 *
 * <p>The writer's schema is chosen once, when a sink starts:
 * <ul>
 *   <li>{@code autoRegister} (Confluent's {@code auto.register.schemas}, default true): register the record's
 *       own schema under the subject;
 *   <li>otherwise {@code useLatestVersion} ({@code use.latest.version}) or a pinned {@code schemaVersion}: use
 *       that version of the subject, after checking that it can read what the record's schema writes (as
 *       {@code latest.compatibility.strict=true}); records are converted to it by Avro's resolution rules;
 *   <li>otherwise: look up the record's own schema under the subject, which must already hold it.
 * </ul>
 *
 * <pre>{@code
 * AvroSerdeOptions governed = AvroSerdeOptions.DEFAULTS.withAutoRegister(false).withUseLatestVersion(true);
 * }</pre>
 *
 * @param autoRegister register the record's schema at start; false for a governed registry
 * @param useLatestVersion write with the subject's latest version; needs autoRegister false
 * @param schemaVersion write with this version of the subject; null for none; needs autoRegister false
 * @param subjectNameStrategy how the subject is named from the topic and the record's schema
 * @param framing where writers put the schema's id or GUID
 */
@PublicEvolving
public record AvroSerdeOptions(
        boolean autoRegister,
        boolean useLatestVersion,
        Integer schemaVersion,
        SubjectNameStrategy subjectNameStrategy,
        SchemaIdFraming framing)
        implements Serializable {

    /** Confluent's defaults: register, TopicNameStrategy, magic byte 0 and the id. */
    public static final AvroSerdeOptions DEFAULTS =
            new AvroSerdeOptions(true, false, null, SubjectNameStrategy.TOPIC, SchemaIdFraming.ID);

    public AvroSerdeOptions {
        Objects.requireNonNull(subjectNameStrategy, "subject name strategy");
        Objects.requireNonNull(framing, "schema id framing");
        if (schemaVersion != null && schemaVersion < 1) {
            throw new IllegalArgumentException("schema registry schema-version must be 1 or more, not " + schemaVersion);
        }
        if (useLatestVersion && schemaVersion != null) {
            throw new IllegalArgumentException("schema registry use-latest-version and schema-version " + schemaVersion
                    + " are both set: choose one (glm.kafka.schema-registry.use-latest-version,"
                    + " glm.kafka.schema-registry.schema-version)");
        }
        // Confluent's serializer silently ignores use.latest.version when it auto-registers; saying so is kinder.
        if (autoRegister && (useLatestVersion || schemaVersion != null)) {
            throw new IllegalArgumentException("schema registry " + (useLatestVersion ? "use-latest-version"
                    : "schema-version " + schemaVersion) + " writes with a schema already in the registry, so it needs"
                    + " glm.kafka.schema-registry.auto-register=false");
        }
    }

    public AvroSerdeOptions withAutoRegister(boolean autoRegister) {
        return new AvroSerdeOptions(autoRegister, useLatestVersion, schemaVersion, subjectNameStrategy, framing);
    }

    public AvroSerdeOptions withUseLatestVersion(boolean useLatestVersion) {
        return new AvroSerdeOptions(autoRegister, useLatestVersion, schemaVersion, subjectNameStrategy, framing);
    }

    public AvroSerdeOptions withSchemaVersion(Integer schemaVersion) {
        return new AvroSerdeOptions(autoRegister, useLatestVersion, schemaVersion, subjectNameStrategy, framing);
    }

    public AvroSerdeOptions withSubjectNameStrategy(SubjectNameStrategy subjectNameStrategy) {
        return new AvroSerdeOptions(autoRegister, useLatestVersion, schemaVersion, subjectNameStrategy, framing);
    }

    public AvroSerdeOptions withFraming(SchemaIdFraming framing) {
        return new AvroSerdeOptions(autoRegister, useLatestVersion, schemaVersion, subjectNameStrategy, framing);
    }
}
