package io.flinkglm.runtime.constraint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeType;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The JSON texts a schema admits, as compact JSON (no whitespace, as Jackson's default writer emits
 * it), expanded to an {@link Rx}. The supported subset is what extraction uses: {@code type} (one or a
 * list of object, array, string, number, integer, boolean, null), {@code properties},
 * {@code required}, {@code additionalProperties} (a boolean), {@code enum}, {@code const},
 * {@code items}, {@code minItems}/{@code maxItems}, {@code minLength}/{@code maxLength},
 * {@code pattern} on strings, {@code anyOf} and nesting; annotations ({@code title},
 * {@code description}, {@code default}, {@code examples}, {@code $schema}, {@code $id},
 * {@code $comment}) are ignored. Any other keyword is an {@link IllegalArgumentException} naming it
 * and where it is: never silently ignored.
 *
 * <p>Choices that keep the language finite-state and every output valid:
 * <ul>
 *   <li>Object properties appear in the schema's order; optional ones may be left out. No other
 *       property is emitted, which every value of {@code additionalProperties} allows.</li>
 *   <li>An object or array without properties/items, and a schema without a type, admit any JSON
 *       value nested at most {@link #ANY_DEPTH} levels: the depth bound is what keeps this regular.</li>
 *   <li>Strings never use {@code \\u} escapes of surrogates, so a string's length in characters is its
 *       number of units (raw characters or escapes), which is what min/maxLength count.</li>
 *   <li>Exponents have at most three digits, so every number is a finite double to any parser.</li>
 *   <li>{@code pattern} combined with min/maxLength is refused (it would need a language intersection).</li>
 * </ul>
 *
 * <pre>{@code
 * Rx rx = JsonSchemaGrammar.compile("{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"}}}");
 * }</pre>
 */
final class JsonSchemaGrammar {
    /** How deeply objects and arrays nest where a schema does not say what they hold. */
    static final int ANY_DEPTH = 5;

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "default", "examples",
            "$schema", "$id", "$comment");
    private static final Set<String> KEYWORDS = Set.of("type", "properties", "required", "additionalProperties",
            "enum", "const", "items", "minItems", "maxItems", "minLength", "maxLength", "pattern", "anyOf");
    private static final CodePointSet HEX = RegexParser.DIGIT.union('a', 'f').union('A', 'F');
    /** Characters a JSON string may hold raw: all but the quote, the backslash and controls. */
    private static final CodePointSet RAW = CodePointSet.of(0x20, CodePointSet.MAX).minus(CodePointSet.ofChars("\"\\"));

    private JsonSchemaGrammar() {}

    static Rx compile(String schemaText) {
        JsonNode schema;
        try {
            schema = JSON.readTree(schemaText);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("the JSON schema is not valid JSON: " + e.getOriginalMessage());
        }
        if (schema == null) {
            throw new IllegalArgumentException("the JSON schema is empty");
        }
        return value(schema, "#");
    }

    /** Any JSON object (OpenAI's {@code json_object} response format). */
    static Rx anyObject() {
        return object(anyValue(ANY_DEPTH - 1));
    }

    private static Rx value(JsonNode s, String path) {
        if (s.isBoolean()) {
            if (!s.booleanValue()) {
                throw new IllegalArgumentException("the JSON schema at " + path + " is false: nothing is valid there");
            }
            return anyValue(ANY_DEPTH);
        }
        if (!s.isObject()) {
            throw new IllegalArgumentException("the JSON schema at " + path + " must be an object or a boolean but is "
                    + s.getNodeType());
        }
        for (Iterator<String> names = s.fieldNames(); names.hasNext(); ) {
            String k = names.next();
            if (!KEYWORDS.contains(k) && !ANNOTATIONS.contains(k)) {
                throw new IllegalArgumentException("unsupported JSON-schema keyword '" + k + "' at " + path
                        + "; constraints support " + new java.util.TreeSet<>(KEYWORDS));
            }
        }
        if (s.has("anyOf")) {
            for (Iterator<String> names = s.fieldNames(); names.hasNext(); ) {
                String k = names.next();
                if (!k.equals("anyOf") && !ANNOTATIONS.contains(k)) {
                    throw new IllegalArgumentException("'anyOf' beside '" + k + "' at " + path
                            + " is not supported; move '" + k + "' into each branch");
                }
            }
            JsonNode branches = s.get("anyOf");
            if (!branches.isArray() || branches.isEmpty()) {
                throw new IllegalArgumentException("'anyOf' at " + path + " must be a non-empty array");
            }
            List<Rx> options = new ArrayList<>();
            for (int i = 0; i < branches.size(); i++) {
                options.add(value(branches.get(i), path + "/anyOf/" + i));
            }
            return Rx.alt(options);
        }
        List<String> types = types(s, path);
        if (s.has("const") || s.has("enum")) {
            List<JsonNode> values = new ArrayList<>();
            if (s.has("const")) {
                values.add(s.get("const"));
            } else if (!s.get("enum").isArray()) {
                throw new IllegalArgumentException("'enum' at " + path + " must be an array");
            } else {
                s.get("enum").forEach(values::add);
            }
            List<Rx> options = new ArrayList<>();
            for (JsonNode v : values) {
                if (types == null || types.stream().anyMatch(t -> hasType(v, t))) {
                    options.add(Rx.text(compact(v)));
                }
            }
            if (options.isEmpty()) {
                throw new IllegalArgumentException("no 'enum'/'const' value at " + path + " has the schema's type " + types);
            }
            return Rx.alt(options);
        }
        if (types == null) {
            types = s.has("properties") || s.has("required") ? List.of("object")
                    : s.has("items") || s.has("minItems") || s.has("maxItems") ? List.of("array")
                    : s.has("pattern") || s.has("minLength") || s.has("maxLength") ? List.of("string")
                    : null;
        }
        if (types == null) {
            return anyValue(ANY_DEPTH);
        }
        List<Rx> options = new ArrayList<>();
        for (String t : types) {
            options.add(switch (t) {
                case "object" -> objectOf(s, path);
                case "array" -> arrayOf(s, path);
                case "string" -> stringOf(s, path);
                case "number" -> number(false);
                case "integer" -> number(true);
                case "boolean" -> Rx.alt(List.of(Rx.text("true"), Rx.text("false")));
                case "null" -> Rx.text("null");
                default -> throw new IllegalArgumentException("unknown type '" + t + "' at " + path);
            });
        }
        return Rx.alt(options);
    }

    private static List<String> types(JsonNode s, String path) {
        JsonNode t = s.get("type");
        if (t == null) {
            return null;
        }
        List<String> out = new ArrayList<>();
        if (t.isTextual()) {
            out.add(t.textValue());
        } else if (t.isArray() && !t.isEmpty()) {
            t.forEach(x -> out.add(x.asText()));
        } else {
            throw new IllegalArgumentException("'type' at " + path + " must be a string or a non-empty array");
        }
        return out;
    }

    private static boolean hasType(JsonNode v, String type) {
        return switch (type) {
            case "object" -> v.isObject();
            case "array" -> v.isArray();
            case "string" -> v.isTextual();
            case "number" -> v.isNumber();
            case "integer" -> v.isIntegralNumber() || (v.isNumber() && v.decimalValue().stripTrailingZeros().scale() <= 0);
            case "boolean" -> v.isBoolean();
            case "null" -> v.isNull();
            default -> false;
        };
    }

    private static Rx objectOf(JsonNode s, String path) {
        JsonNode additional = s.get("additionalProperties");
        if (additional != null && !additional.isBoolean()) {
            throw new IllegalArgumentException("'additionalProperties' at " + path
                    + " must be a boolean; a schema for additional properties is not supported");
        }
        Map<String, JsonNode> properties = new LinkedHashMap<>();
        JsonNode props = s.get("properties");
        if (props != null) {
            if (!props.isObject()) {
                throw new IllegalArgumentException("'properties' at " + path + " must be an object");
            }
            props.fields().forEachRemaining(e -> properties.put(e.getKey(), e.getValue()));
        }
        Set<String> required = new java.util.HashSet<>();
        if (s.has("required")) {
            for (JsonNode r : s.get("required")) {
                if (!properties.containsKey(r.asText())) {
                    throw new IllegalArgumentException("required property '" + r.asText() + "' at " + path
                            + " is not among its 'properties'; declare it there");
                }
                required.add(r.asText());
            }
        }
        if (properties.isEmpty()) {
            return additional != null && !additional.booleanValue() ? Rx.text("{}") : object(anyValue(ANY_DEPTH - 1));
        }
        // The members in order, each optional one either present or skipped; commas go between
        // present members. Expanded with "is this the first member" as the only state, this is
        // 2 copies per property rather than one per subset of the optional ones.
        List<String> names = new ArrayList<>(properties.keySet());
        Rx[] firstFrom = new Rx[names.size() + 1];
        Rx[] laterFrom = new Rx[names.size() + 1];
        firstFrom[names.size()] = Rx.text("");
        laterFrom[names.size()] = Rx.text("");
        for (int i = names.size() - 1; i >= 0; i--) {
            String name = names.get(i);
            Rx member = Rx.seq(Rx.text(compact(JSON.getNodeFactory().textNode(name)) + ":"),
                    value(properties.get(name), path + "/properties/" + name));
            Rx asFirst = Rx.seq(member, laterFrom[i + 1]);
            Rx asLater = Rx.seq(Rx.text(","), member, laterFrom[i + 1]);
            boolean optional = !required.contains(name);
            firstFrom[i] = optional ? Rx.alt(List.of(asFirst, firstFrom[i + 1])) : asFirst;
            laterFrom[i] = optional ? Rx.alt(List.of(asLater, laterFrom[i + 1])) : asLater;
        }
        return Rx.seq(Rx.text("{"), firstFrom[0], Rx.text("}"));
    }

    private static Rx arrayOf(JsonNode s, String path) {
        Rx item = s.has("items") ? value(s.get("items"), path + "/items") : anyValue(ANY_DEPTH - 1);
        int min = count(s, "minItems", 0, path);
        int max = s.has("maxItems") ? count(s, "maxItems", 0, path) : Rx.UNBOUNDED;
        return array(item, min, max, path);
    }

    private static Rx array(Rx item, int min, int max, String path) {
        if (max != Rx.UNBOUNDED && max < min) {
            throw new IllegalArgumentException("maxItems " + max + " is below minItems " + min + " at " + path);
        }
        if (max == 0) {
            return Rx.text("[]");
        }
        if (min <= 1 && max == Rx.UNBOUNDED) {
            Rx items = new Rx.Joined(item, Rx.text(","));
            return Rx.seq(Rx.text("["), min == 0 ? Rx.optional(items) : items, Rx.text("]"));
        }
        Rx rest = new Rx.Repeat(Rx.seq(Rx.text(","), item), Math.max(0, min - 1),
                max == Rx.UNBOUNDED ? Rx.UNBOUNDED : max - 1);
        Rx items = Rx.seq(item, rest);
        return Rx.seq(Rx.text("["), min == 0 ? Rx.optional(items) : items, Rx.text("]"));
    }

    private static Rx stringOf(JsonNode s, String path) {
        int min = count(s, "minLength", 0, path);
        int max = s.has("maxLength") ? count(s, "maxLength", 0, path) : Rx.UNBOUNDED;
        if (s.has("pattern")) {
            if (s.has("minLength") || s.has("maxLength")) {
                throw new IllegalArgumentException("'pattern' with 'minLength'/'maxLength' at " + path
                        + " is not supported; express the length in the pattern ({n,m})");
            }
            JsonNode p = s.get("pattern");
            if (!p.isTextual()) {
                throw new IllegalArgumentException("'pattern' at " + path + " must be a string");
            }
            // The validator searches the pattern anywhere in the string; a string that matches it
            // as a whole satisfies that too.
            return Rx.seq(Rx.text("\""), inJsonString(RegexParser.parse(p.textValue())), Rx.text("\""));
        }
        if (max != Rx.UNBOUNDED && max < min) {
            throw new IllegalArgumentException("maxLength " + max + " is below minLength " + min + " at " + path);
        }
        return Rx.seq(Rx.text("\""), new Rx.Repeat(anyStringChar(), min, max), Rx.text("\""));
    }

    private static int count(JsonNode s, String keyword, int fallback, String path) {
        JsonNode n = s.get(keyword);
        if (n == null) {
            return fallback;
        }
        if (!n.canConvertToInt() || !n.isIntegralNumber() || n.intValue() < 0) {
            throw new IllegalArgumentException("'" + keyword + "' at " + path + " must be a non-negative integer");
        }
        return n.intValue();
    }

    /** One character of a JSON string: raw, a short escape, or a {@code \\u} escape of a non-surrogate. */
    private static Rx anyStringChar() {
        Rx hex = new Rx.Chars(HEX);
        Rx nonSurrogate = Rx.alt(List.of(
                Rx.seq(new Rx.Chars(HEX.minus(CodePointSet.ofChars("dD"))), hex, hex, hex),
                Rx.seq(new Rx.Chars(CodePointSet.ofChars("dD")), new Rx.Chars(CodePointSet.of('0', '7')), hex, hex)));
        return Rx.alt(List.of(new Rx.Chars(RAW),
                Rx.seq(Rx.text("\\"), new Rx.Chars(CodePointSet.ofChars("\"\\/bfnrt"))),
                Rx.seq(Rx.text("\\u"), nonSurrogate)));
    }

    /** A pattern over characters as the bytes of a JSON string's content: specials become escapes. */
    private static Rx inJsonString(Rx rx) {
        if (rx instanceof Rx.Chars c) {
            List<Rx> options = new ArrayList<>();
            CodePointSet raw = c.set().intersect(RAW);
            if (!raw.isEmpty()) {
                options.add(new Rx.Chars(raw));
            }
            for (int ch = 0; ch < 0x20; ch++) {
                if (c.set().contains(ch)) {
                    options.add(Rx.text(escape(ch)));
                }
            }
            for (int ch : new int[]{'"', '\\'}) {
                if (c.set().contains(ch)) {
                    options.add(Rx.text(escape(ch)));
                }
            }
            return options.isEmpty() ? new Rx.Chars(CodePointSet.EMPTY) : Rx.alt(options);
        } else if (rx instanceof Rx.Seq s) {
            return new Rx.Seq(s.items().stream().map(JsonSchemaGrammar::inJsonString).toList());
        } else if (rx instanceof Rx.Alt a) {
            return new Rx.Alt(a.options().stream().map(JsonSchemaGrammar::inJsonString).toList());
        } else if (rx instanceof Rx.Repeat r) {
            return new Rx.Repeat(inJsonString(r.item()), r.min(), r.max());
        } else if (rx instanceof Rx.Joined j) {
            return new Rx.Joined(inJsonString(j.item()), inJsonString(j.separator()));
        }
        throw new IllegalStateException("a parsed regex has no byte literals but got " + rx);
    }

    /** How Jackson's writer escapes a character, so the literal matches what a compact writer emits. */
    private static String escape(int ch) {
        return compact(JSON.getNodeFactory().textNode(String.valueOf((char) ch))).replaceAll("^\"|\"$", "");
    }

    private static Rx number(boolean integer) {
        Rx digit = new Rx.Chars(RegexParser.DIGIT);
        Rx intPart = Rx.alt(List.of(Rx.text("0"),
                Rx.seq(new Rx.Chars(CodePointSet.of('1', '9')), new Rx.Repeat(digit, 0, Rx.UNBOUNDED))));
        Rx sign = Rx.optional(Rx.text("-"));
        if (integer) {
            return Rx.seq(sign, intPart);
        }
        Rx fraction = Rx.optional(Rx.seq(Rx.text("."), new Rx.Repeat(digit, 1, Rx.UNBOUNDED)));
        Rx exponent = Rx.optional(Rx.seq(new Rx.Chars(CodePointSet.ofChars("eE")),
                Rx.optional(new Rx.Chars(CodePointSet.ofChars("+-"))), new Rx.Repeat(digit, 1, 3)));
        return Rx.seq(sign, intPart, fraction, exponent);
    }

    private static Rx string() {
        return Rx.seq(Rx.text("\""), new Rx.Repeat(anyStringChar(), 0, Rx.UNBOUNDED), Rx.text("\""));
    }

    private static Rx object(Rx member) {
        Rx pair = Rx.seq(string(), Rx.text(":"), member);
        return Rx.seq(Rx.text("{"), Rx.optional(new Rx.Joined(pair, Rx.text(","))), Rx.text("}"));
    }

    /** Any JSON value with objects and arrays nested at most {@code depth} levels. */
    static Rx anyValue(int depth) {
        List<Rx> options = new ArrayList<>(List.of(string(), number(false), Rx.text("true"), Rx.text("false"),
                Rx.text("null")));
        if (depth > 0) {
            Rx inner = anyValue(depth - 1);
            options.add(object(inner));
            options.add(Rx.seq(Rx.text("["), Rx.optional(new Rx.Joined(inner, Rx.text(","))), Rx.text("]")));
        }
        return Rx.alt(options);
    }

    private static String compact(JsonNode v) {
        try {
            return JSON.writeValueAsString(v);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("Jackson cannot write a node it parsed", e);
        }
    }
}
