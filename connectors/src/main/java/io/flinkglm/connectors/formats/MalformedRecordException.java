package io.flinkglm.connectors.formats;

import org.apache.flink.annotation.PublicEvolving;

/**
 * A Kafka record value that cannot become a record. The message is the dead letter's reason,
 * {@code <kind>: <detail>}, so a DLQ reader can group by kind and still see what was wrong.
 *
 * <pre>{@code
 * throw new MalformedRecordException(Kind.OVERSIZED, "record is 11534336 bytes, over the 10485760-byte limit");
 * }</pre>
 */
@PublicEvolving
public final class MalformedRecordException extends Exception {

    /** Why a record was rejected; {@link #code()} is the prefix of every dead letter's reason. */
    public enum Kind {
        EMPTY("empty"),
        OVERSIZED("oversized"),
        INVALID_UTF8("invalid_utf8"),
        INVALID_JSON("invalid_json"),
        INVALID_RECORD("invalid_record"),
        BAD_MAGIC_BYTE("bad_magic_byte"),
        UNKNOWN_SCHEMA_ID("unknown_schema_id"),
        TRUNCATED("truncated"),
        INVALID_AVRO("invalid_avro");

        private final String code;

        Kind(String code) {
            this.code = code;
        }

        public String code() {
            return code;
        }
    }

    private final Kind kind;

    public MalformedRecordException(Kind kind, String detail) {
        this(kind, detail, null);
    }

    public MalformedRecordException(Kind kind, String detail, Throwable cause) {
        super(kind.code() + ": " + detail, cause, false, false); // no stack: thrown once per poison record
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
