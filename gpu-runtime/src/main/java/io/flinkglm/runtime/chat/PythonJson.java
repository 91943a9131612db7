package io.flinkglm.runtime.chat;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.Iterator;
import java.util.Map;

/**
 * JSON text exactly as Python's {@code json.dumps(value, ensure_ascii=False, indent=4)} writes it,
 * which is what the chat template's {@code tojson(indent=4)} produces under transformers: keys in
 * insertion order, {@code ": "} and {@code ","} separators, non-ASCII kept, control characters as
 * {@code \\u00XX}, floats in Python's {@code repr} form ({@code 25.0}, {@code 1e-05}, {@code 1e+16}).
 */
final class PythonJson {
    private static final int INDENT = 4;

    private PythonJson() {}

    static String dumpsIndented(JsonNode value) {
        StringBuilder out = new StringBuilder();
        write(value, 0, out);
        return out.toString();
    }

    private static void write(JsonNode value, int depth, StringBuilder out) {
        if (value.isObject()) {
            if (value.isEmpty()) {
                out.append("{}");
                return;
            }
            out.append('{');
            String separator = "";
            for (Iterator<Map.Entry<String, JsonNode>> it = value.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> field = it.next();
                out.append(separator);
                newline(depth + 1, out);
                writeString(field.getKey(), out);
                out.append(": ");
                write(field.getValue(), depth + 1, out);
                separator = ",";
            }
            newline(depth, out);
            out.append('}');
        } else if (value.isArray()) {
            if (value.isEmpty()) {
                out.append("[]");
                return;
            }
            out.append('[');
            for (int i = 0; i < value.size(); i++) {
                out.append(i == 0 ? "" : ",");
                newline(depth + 1, out);
                write(value.get(i), depth + 1, out);
            }
            newline(depth, out);
            out.append(']');
        } else if (value.isTextual()) {
            writeString(value.asText(), out);
        } else if (value.isFloatingPointNumber()) {
            out.append(pythonFloatRepr(value.doubleValue()));
        } else {
            out.append(value.toString()); // integers (any size), true, false, null
        }
    }

    private static void newline(int depth, StringBuilder out) {
        out.append('\n').append(" ".repeat(depth * INDENT));
    }

    private static void writeString(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /**
     * Python's {@code repr(float)}: the shortest round-tripping digits, fixed notation while the
     * decimal exponent is in -4 < e <= 16, otherwise {@code d.ddde+XX}. Java's shortest digits are
     * taken from {@link Double#toString}.
     */
    static String pythonFloatRepr(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        String sign = (d < 0 || (d == 0 && 1 / d < 0)) ? "-" : "";
        if (d == 0) {
            return sign + "0.0";
        }
        BigDecimal decimal = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = decimal.unscaledValue().toString();
        int point = digits.length() - decimal.scale(); // digits d1d2... are 0.d1d2... x 10^point
        if (point > -4 && point <= 16) {
            if (point <= 0) {
                return sign + "0." + "0".repeat(-point) + digits;
            }
            if (point >= digits.length()) {
                return sign + digits + "0".repeat(point - digits.length()) + ".0";
            }
            return sign + digits.substring(0, point) + "." + digits.substring(point);
        }
        int exponent = point - 1;
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format("%02d", Math.abs(exponent));
    }
}
