package io.flinkglm.connectors.formats;

import io.flinkglm.connectors.registry.RegisteredSchema;
import io.flinkglm.connectors.registry.SchemaNotFoundException;
import io.flinkglm.connectors.registry.SchemaRegistryClient;
import io.flinkglm.connectors.registry.SchemaRegistryRefusalException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.Incompatibility;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;

/**
 * The schema a writer writes with, chosen once per task as {@link AvroSerdeOptions} says, and the framing
 * around each datum. Every registry refusal becomes a {@link WriterSchemaException} that says what to do.
 */
final class AvroWriterSchema {

    private static final String AUTO_REGISTER = "glm.kafka.schema-registry.auto-register";

    private final RegisteredSchema used;
    private final Schema own; // the record type's schema, what AvroJsonBridge builds data in
    private final SchemaIdFraming framing;
    private final byte[] prefix; // before each datum in the value; empty for HEADER
    private final byte[] header; // the __value_schema_id header; null unless HEADER

    private AvroWriterSchema(RegisteredSchema used, Schema own, SchemaIdFraming framing) {
        this.used = used;
        this.own = own;
        this.framing = framing;
        byte[] byId = ByteBuffer.allocate(SchemaIdFraming.ID_PREFIX_BYTES)
                .put(SchemaIdFraming.MAGIC_ID).putInt(used.id()).array();
        byte[] byGuid = framing == SchemaIdFraming.ID ? null : ByteBuffer.allocate(SchemaIdFraming.GUID_PREFIX_BYTES)
                .put(SchemaIdFraming.MAGIC_GUID)
                .putLong(used.guid().getMostSignificantBits())
                .putLong(used.guid().getLeastSignificantBits())
                .array();
        this.prefix = switch (framing) {
            case ID -> byId;
            case GUID -> byGuid;
            case HEADER -> new byte[0];
        };
        this.header = framing == SchemaIdFraming.HEADER ? byGuid : null;
    }

    /**
     * Chooses the schema to write {@code own} data with to {@code topic}.
     *
     * @throws WriterSchemaException when the registry refuses or the schema it holds cannot be used
     * @throws IOException when the registry cannot be reached or fails; asking later may succeed
     */
    static AvroWriterSchema resolve(SchemaRegistryClient registry, AvroSerdeOptions options, String topic, Schema own)
            throws IOException {
        String subject = options.subjectNameStrategy().subject(topic, own);
        RegisteredSchema used;
        try {
            if (options.autoRegister()) {
                used = registry.registerSchema(subject, own);
            } else if (options.useLatestVersion() || options.schemaVersion() != null) {
                used = registry.version(subject, options.useLatestVersion() ? "latest" : options.schemaVersion().toString());
                checkCanRead(used, own);
            } else {
                used = registry.lookUp(subject, own);
            }
        } catch (SchemaNotFoundException e) {
            throw new WriterSchemaException(notFound(subject, options, own, e), e);
        } catch (SchemaRegistryRefusalException e) {
            throw new WriterSchemaException(refused(registry, subject, options, own, e), e);
        }
        if (options.framing() != SchemaIdFraming.ID && used.guid() == null) {
            throw new WriterSchemaException("schema registry gave no GUID for " + used.describe() + ", which "
                    + "glm.kafka.schema-registry.schema-id-framing " + options.framing() + " needs: set it to ID, or use a"
                    + " registry that assigns GUIDs (Confluent Platform 8.0 or later)", null);
        }
        return new AvroWriterSchema(used, own, options.framing());
    }

    /** As Confluent's {@code latest.compatibility.strict=true}: the registry's schema must read what ours writes. */
    private static void checkCanRead(RegisteredSchema used, Schema own) throws WriterSchemaException {
        List<Incompatibility> problems = SchemaCompatibility.checkReaderWriterCompatibility(used.schema(), own)
                .getResult().getIncompatibilities();
        if (!problems.isEmpty()) {
            throw new WriterSchemaException("the schema registry's " + used.describe() + " cannot read "
                    + own.getFullName() + " as this job writes it: " + describe(problems.get(0))
                    + (problems.size() > 1 ? " (and " + (problems.size() - 1) + " more)" : "")
                    + "; register a compatible version of " + own.getFullName() + " under the subject, or pin"
                    + " glm.kafka.schema-registry.schema-version to one", null);
        }
    }

    private static String notFound(String subject, AvroSerdeOptions options, Schema own, SchemaNotFoundException e) {
        String what = options.useLatestVersion() ? "no versions"
                : options.schemaVersion() != null ? "no version " + options.schemaVersion()
                : e.errorCode() == SchemaNotFoundException.SUBJECT_NOT_FOUND ? "no versions"
                : "no version equal to this job's " + own.getFullName();
        return "schema registry subject \"" + subject + "\" has " + what + ", and " + AUTO_REGISTER + " is false:"
                + " register the schema (connectors/src/main/resources/avro/" + own.getName() + ".avsc) under the"
                + " subject ahead of the job (POST /subjects/" + subject + "/versions), or set " + AUTO_REGISTER
                + "=true. The registry said: " + e.registryMessage();
    }

    private static String refused(SchemaRegistryClient registry, String subject, AvroSerdeOptions options, Schema own,
            SchemaRegistryRefusalException e) {
        return switch (e.status()) {
            case 401, 403 -> e.getMessage() + (options.autoRegister()
                    ? ". A governed registry lets only CI register: register the schemas ahead and set "
                            + AUTO_REGISTER + "=false"
                    : "");
            case 409 -> "schema registry refused to register " + own.getFullName() + " under subject \"" + subject
                    + "\" as incompatible with " + latest(registry, subject, own) + "; make the change compatible"
                    + " (e.g. give new fields defaults) or change the subject's compatibility. The registry said: "
                    + e.registryMessage();
            default -> e.getMessage() + (options.autoRegister()
                    ? "; if the registry does not let this job register, register the schemas ahead and set "
                            + AUTO_REGISTER + "=false"
                    : "");
        };
    }

    /** The subject's latest version and its first incompatibility with ours, best effort: only for a message. */
    private static String latest(SchemaRegistryClient registry, String subject, Schema own) {
        try {
            RegisteredSchema latest = registry.version(subject, "latest");
            List<Incompatibility> problems = SchemaCompatibility.checkReaderWriterCompatibility(own, latest.schema())
                    .getResult().getIncompatibilities();
            return "its latest, version " + latest.version() + (problems.isEmpty() ? ""
                    : " (first incompatibility: " + describe(problems.get(0)) + ")");
        } catch (IOException e) {
            return "its versions";
        }
    }

    private static String describe(Incompatibility problem) {
        return problem.getType() + " at " + problem.getLocation() + ": " + problem.getMessage();
    }

    /** The registry's name for the schema, as the subject and version it came from. */
    RegisteredSchema used() {
        return used;
    }

    /** The {@value SchemaIdFraming#VALUE_SCHEMA_ID_HEADER} header's value, or null unless {@link SchemaIdFraming#HEADER}. */
    byte[] header() {
        return header == null ? null : header.clone();
    }

    /** The framed value of {@code datum}, a datum of the record's own schema. */
    byte[] write(Object datum) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        out.write(prefix);
        BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
        if (used.schema().equals(own)) {
            new GenericDatumWriter<>(own).write(datum, encoder);
        } else {
            // Into the registry's version by Avro's own resolution rules: its new fields take their defaults,
            // fields it lacks are dropped. checkCanRead proved at start that this cannot fail.
            new GenericDatumWriter<>(used.schema()).write(resolve(datum), encoder);
        }
        encoder.flush();
        return out.toByteArray();
    }

    private Object resolve(Object datum) throws IOException {
        ByteArrayOutputStream own = new ByteArrayOutputStream(256);
        BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(own, null);
        new GenericDatumWriter<>(this.own).write(datum, encoder);
        encoder.flush();
        return new GenericDatumReader<>(this.own, used.schema())
                .read(null, DecoderFactory.get().binaryDecoder(own.toByteArray(), null));
    }

    @Override
    public String toString() {
        return used.describe() + " framed as " + framing;
    }
}
