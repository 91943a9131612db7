package io.flinkglm.connectors.formats;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.type.LogicalType;
import io.flinkglm.connectors.formats.MalformedRecordException.Kind;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.WireRecord;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.flink.annotation.Internal;

/**
 * The one mapping between records and JSON trees, shared by the JSON and the Avro formats.
 *
 * <p>Names are snake_case ({@code conversationId} is {@code conversation_id}); unknown fields are ignored so
 * a producer may add fields before consumers know them; nulls are left out when writing.
 *
 * <p>Reading is strict about everything else: one JSON value and nothing after it, and every scalar of its
 * field's type. Jackson's defaults would answer {@code {"text": 5}} as the prompt "5", cut
 * {@code "max_tokens": 3.7} to 3, read {@code "task": 0} as the first enum constant and ignore {@code xyz} after
 * the closing brace; each of those is a producer bug the dead-letter topic should show, not hide. Integers are
 * still accepted for floating-point fields ({@code "temperature": 1}), as JSON does not tell 1 from 1.0.
 *
 * <pre>{@code
 * JsonNode tree = WireJson.MAPPER.valueToTree(prompt);
 * Prompt back = WireJson.toRecord(tree, Prompt.class);
 * }</pre>
 */
@Internal
public final class WireJson {

    public static final ObjectMapper MAPPER = strictMapper();

    private WireJson() {}

    private static ObjectMapper strictMapper() {
        JsonMapper mapper = JsonMapper.builder()
                .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .serializationInclusion(JsonInclude.Include.NON_NULL)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                // An explicit null int ("prompt_tokens": null) is a broken record, not 0. Absent optional fields
                // are fine: required ones are checked by WireRecord.violations(), with the field's name.
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS) // readTree honours it too
                .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS) // "12" is not 12, true is not 1
                .build();
        // Scalars into strings are allowed by default whatever ALLOW_COERCION_OF_SCALARS says.
        mapper.coercionConfigFor(LogicalType.Textual)
                .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail);
        for (LogicalType number : List.of(LogicalType.Integer, LogicalType.Float, LogicalType.Boolean)) {
            mapper.coercionConfigFor(number)
                    .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail);
        }
        mapper.coercionConfigFor(LogicalType.Integer).setCoercion(CoercionInputShape.Float, CoercionAction.Fail);
        return mapper;
    }

    /** Binds {@code tree} to {@code type} and checks the record's own rules. */
    public static <T extends WireRecord> T toRecord(JsonNode tree, Class<T> type) throws MalformedRecordException {
        if (tree == null || !tree.isObject()) {
            throw new MalformedRecordException(Kind.INVALID_RECORD,
                    "expected a JSON object for " + type.getSimpleName() + " but found "
                            + (tree == null ? "nothing" : tree.getNodeType()));
        }
        T record;
        try {
            record = MAPPER.treeToValue(withJsonTextFields(tree, type), type);
        } catch (JsonMappingException e) { // mismatch, missing-property and bad-enum errors all mean the same here
            throw new MalformedRecordException(Kind.INVALID_RECORD,
                    type.getSimpleName() + fieldPath(e) + ": " + firstLine(e.getOriginalMessage()), e);
        } catch (Exception e) {
            throw new MalformedRecordException(Kind.INVALID_RECORD, type.getSimpleName() + ": " + firstLine(e), e);
        }
        List<String> broken = record.violations();
        if (!broken.isEmpty()) {
            throw new MalformedRecordException(Kind.INVALID_RECORD,
                    type.getSimpleName() + ": " + String.join(", ", broken));
        }
        return record;
    }

    /**
     * Fields that hold JSON kept verbatim as a string (so Avro, with its fixed schema, carries them too). On the
     * JSON wire they may also be written as OpenAI's API writes them, as JSON itself: {@code "tools": [...]},
     * {@code "response_format": {...}}, {@code "tool_choice": {...}}. Such a value is read as its compact text;
     * any other non-string value is still an invalid record naming the field.
     */
    private static final Map<Class<?>, List<String>> JSON_TEXT_FIELDS =
            Map.of(Prompt.class, List.of("tools", "tool_choice", "response_format"));

    private static JsonNode withJsonTextFields(JsonNode tree, Class<?> type) {
        ObjectNode copy = null;
        for (String field : JSON_TEXT_FIELDS.getOrDefault(type, List.of())) {
            JsonNode value = tree.get(field);
            if (value != null && value.isContainerNode()) {
                copy = copy != null ? copy : ((ObjectNode) tree).deepCopy();
                copy.put(field, value.toString());
            }
        }
        return copy != null ? copy : tree;
    }

    /** {@code .messages[0].content}: the wire names of the fields down to where Jackson gave up, or nothing. */
    private static String fieldPath(JsonMappingException e) {
        return e.getPath().stream()
                .map(ref -> ref.getFieldName() != null ? "." + ref.getFieldName() : "[" + ref.getIndex() + "]")
                .collect(Collectors.joining());
    }

    static String firstLine(Throwable e) {
        return firstLine(e.getMessage());
    }

    static String firstLine(String text) {
        String message = String.valueOf(text);
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}
