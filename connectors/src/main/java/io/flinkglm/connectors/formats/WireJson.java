package io.flinkglm.connectors.formats;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.flinkglm.connectors.formats.MalformedRecordException.Kind;
import io.flinkglm.records.WireRecord;
import java.util.List;

/**
 * The one mapping between records and JSON trees, shared by the JSON and the Avro formats.
 *
 * <p>Names are snake_case ({@code conversationId} is {@code conversation_id}); unknown fields are ignored so
 * a producer may add fields before consumers know them; nulls are left out when writing.
 *
 * <pre>{@code
 * JsonNode tree = WireJson.MAPPER.valueToTree(prompt);
 * Prompt back = WireJson.toRecord(tree, Prompt.class);
 * }</pre>
 */
public final class WireJson {

    public static final ObjectMapper MAPPER = JsonMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .serializationInclusion(JsonInclude.Include.NON_NULL)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            // An explicit null int ("prompt_tokens": null) is a broken record, not 0. Absent optional fields
            // are fine: required ones are checked by WireRecord.violations(), with the field's name.
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .build();

    private WireJson() {}

    /** Binds {@code tree} to {@code type} and checks the record's own rules. */
    public static <T extends WireRecord> T toRecord(JsonNode tree, Class<T> type) throws MalformedRecordException {
        if (tree == null || !tree.isObject()) {
            throw new MalformedRecordException(Kind.INVALID_RECORD,
                    "expected a JSON object for " + type.getSimpleName() + " but found "
                            + (tree == null ? "nothing" : tree.getNodeType()));
        }
        T record;
        try {
            record = MAPPER.treeToValue(tree, type);
        } catch (Exception e) { // Jackson's mismatch, missing-property and bad-enum errors all mean the same here
            throw new MalformedRecordException(Kind.INVALID_RECORD, type.getSimpleName() + ": " + firstLine(e), e);
        }
        List<String> broken = record.violations();
        if (!broken.isEmpty()) {
            throw new MalformedRecordException(Kind.INVALID_RECORD,
                    type.getSimpleName() + ": " + String.join(", ", broken));
        }
        return record;
    }

    static String firstLine(Throwable e) {
        String message = String.valueOf(e.getMessage());
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
