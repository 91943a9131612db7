package io.flinkglm.connectors.formats;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkglm.connectors.formats.MalformedRecordException.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.util.Utf8;

/**
 * Converts between Jackson trees and Avro generic data, walking the Avro schema. This is what lets the Avro
 * format reuse {@link WireJson}'s record mapping instead of a hand-written converter per record: the
 * {@code .avsc} field names are the JSON names.
 *
 * <p>Supports what the record schemas use: records, enums, arrays, maps, bytes, primitives and
 * {@code ["null", X]} unions.
 *
 * <pre>{@code
 * GenericRecord avro = (GenericRecord) AvroJsonBridge.toAvro(WireJson.MAPPER.valueToTree(prompt), schema);
 * JsonNode tree = AvroJsonBridge.toJson(avro, schema);
 * }</pre>
 */
final class AvroJsonBridge {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private AvroJsonBridge() {}

    /** The Avro datum for {@code node}; a null or missing node is Avro null. */
    static Object toAvro(JsonNode node, Schema schema) {
        boolean absent = node == null || node.isNull() || node.isMissingNode();
        return switch (schema.getType()) {
            case NULL -> null;
            case UNION -> absent ? null : toAvro(node, nonNullBranch(schema));
            case RECORD -> {
                requireNotAbsent(absent, schema);
                GenericRecord record = new GenericData.Record(schema);
                for (Schema.Field field : schema.getFields()) {
                    record.put(field.pos(), toAvro(node.get(field.name()), field.schema()));
                }
                yield record;
            }
            case ENUM -> new GenericData.EnumSymbol(schema, text(node, absent, schema));
            case ARRAY -> {
                requireNotAbsent(absent, schema);
                List<Object> items = new ArrayList<>(node.size());
                node.forEach(item -> items.add(toAvro(item, schema.getElementType())));
                yield new GenericData.Array<>(schema, items);
            }
            case MAP -> {
                requireNotAbsent(absent, schema);
                Map<String, Object> map = new HashMap<>();
                node.properties().forEach(e -> map.put(e.getKey(), toAvro(e.getValue(), schema.getValueType())));
                yield map;
            }
            case STRING -> text(node, absent, schema);
            case BYTES -> {
                requireNotAbsent(absent, schema);
                try {
                    yield ByteBuffer.wrap(node.binaryValue()); // BinaryNode, or base64 text from parsed JSON
                } catch (IOException e) {
                    throw new IllegalArgumentException("bytes field is not base64: " + e.getMessage(), e);
                }
            }
            case INT -> number(absent, schema, node).intValue();
            case LONG -> number(absent, schema, node).longValue();
            case FLOAT -> number(absent, schema, node).floatValue();
            case DOUBLE -> number(absent, schema, node).doubleValue();
            case BOOLEAN -> {
                requireNotAbsent(absent, schema);
                yield node.booleanValue();
            }
            case FIXED -> throw new IllegalArgumentException("fixed is not used by the record schemas");
        };
    }

    /** The JSON tree for an Avro datum read with {@code schema}; Avro strings must be valid UTF-8. */
    static JsonNode toJson(Object datum, Schema schema) throws MalformedRecordException {
        if (datum == null) {
            return NODES.nullNode();
        }
        switch (schema.getType()) {
            case UNION:
                return toJson(datum, nonNullBranch(schema));
            case RECORD: {
                GenericRecord record = (GenericRecord) datum;
                ObjectNode object = NODES.objectNode();
                for (Schema.Field field : schema.getFields()) {
                    object.set(field.name(), toJson(record.get(field.pos()), field.schema()));
                }
                return object;
            }
            case ARRAY: {
                ArrayNode array = NODES.arrayNode();
                for (Object item : (Iterable<?>) datum) {
                    array.add(toJson(item, schema.getElementType()));
                }
                return array;
            }
            case MAP: {
                ObjectNode object = NODES.objectNode();
                for (Map.Entry<?, ?> e : ((Map<?, ?>) datum).entrySet()) {
                    object.set(strictString(e.getKey()), toJson(e.getValue(), schema.getValueType()));
                }
                return object;
            }
            case ENUM:
                return NODES.textNode(datum.toString());
            case STRING:
                return NODES.textNode(strictString(datum));
            case BYTES: {
                ByteBuffer buffer = ((ByteBuffer) datum).duplicate();
                byte[] bytes = new byte[buffer.remaining()];
                buffer.get(bytes);
                return NODES.binaryNode(bytes);
            }
            case INT:
                return NODES.numberNode((Integer) datum);
            case LONG:
                return NODES.numberNode((Long) datum);
            case FLOAT:
                return NODES.numberNode((Float) datum);
            case DOUBLE:
                return NODES.numberNode((Double) datum);
            case BOOLEAN:
                return NODES.booleanNode((Boolean) datum);
            default:
                throw new IllegalArgumentException(schema.getType() + " is not used by the record schemas");
        }
    }

    /** Avro's own Utf8.toString() replaces bad bytes with U+FFFD; a poison string must be rejected instead. */
    private static String strictString(Object value) throws MalformedRecordException {
        if (!(value instanceof Utf8 utf8)) {
            return value.toString();
        }
        try {
            return StrictUtf8.decode(utf8.getBytes(), 0, utf8.getByteLength());
        } catch (CharacterCodingException e) {
            throw new MalformedRecordException(Kind.INVALID_UTF8, "an Avro string is not valid UTF-8");
        }
    }

    private static Schema nonNullBranch(Schema union) {
        List<Schema> branches = union.getTypes();
        if (branches.size() != 2 || branches.stream().noneMatch(b -> b.getType() == Schema.Type.NULL)) {
            throw new IllegalArgumentException("only [\"null\", X] unions are supported, not " + union);
        }
        return branches.get(0).getType() == Schema.Type.NULL ? branches.get(1) : branches.get(0);
    }

    private static String text(JsonNode node, boolean absent, Schema schema) {
        requireNotAbsent(absent, schema);
        return node.asText();
    }

    private static Number number(boolean absent, Schema schema, JsonNode node) {
        requireNotAbsent(absent, schema);
        return node.numberValue();
    }

    private static void requireNotAbsent(boolean absent, Schema schema) {
        if (absent) {
            throw new IllegalArgumentException("a non-nullable " + schema.getType() + " value is null: " + schema.getFullName());
        }
    }
}
