package io.flinkglm.connectors.formats;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.flinkglm.connectors.formats.MalformedRecordException.Kind;
import io.flinkglm.records.WireRecord;
import java.nio.charset.CharacterCodingException;
import org.apache.flink.annotation.PublicEvolving;

/**
 * UTF-8 JSON for any record type.
 *
 * <pre>{@code
 * var serde = new JsonRecordSerde<>(Completion.class);
 * byte[] bytes = serde.encode(completion);
 * }</pre>
 */
@PublicEvolving
public final class JsonRecordSerde<T extends WireRecord> implements RecordSerde<T> {

    private final Class<T> type;

    public JsonRecordSerde(Class<T> type) {
        this.type = type;
    }

    @Override
    public byte[] encode(T record) throws JsonProcessingException {
        return WireJson.MAPPER.writeValueAsBytes(record);
    }

    @Override
    public T decode(byte[] value) throws MalformedRecordException {
        requireUtf8(value);
        JsonNode tree;
        try {
            tree = WireJson.MAPPER.readTree(value);
        } catch (Exception e) {
            throw new MalformedRecordException(Kind.INVALID_JSON, WireJson.firstLine(e), e);
        }
        return WireJson.toRecord(tree, type);
    }

    /**
     * Checked up front, strictly: Jackson would report bad UTF-8 as a JSON syntax error, and the DLQ reader
     * should see which of the two it was.
     */
    static void requireUtf8(byte[] value) throws MalformedRecordException {
        try {
            StrictUtf8.decode(value, 0, value.length);
        } catch (CharacterCodingException e) {
            throw new MalformedRecordException(Kind.INVALID_UTF8, "value is not valid UTF-8 (" + e.getMessage() + ")");
        }
    }
}
