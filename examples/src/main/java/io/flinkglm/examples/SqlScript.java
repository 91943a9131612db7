package io.flinkglm.examples;

import org.apache.flink.annotation.Internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A SQL script as {@link SqlJob} runs it: {@code ${name}} placeholders replaced, then split into statements at
 * each {@code ;} outside quotes and comments, with {@code SET 'key' = 'value';} statements taken out as job
 * configuration (they must reach the environment before the first statement plans).
 *
 * <pre>{@code
 * SqlScript s = SqlScript.parse(text, Map.of("kafka.bootstrap-servers", "127.0.0.1:9092"));
 * s.settings();   // {"execution.checkpointing.interval": "10s"}
 * s.statements(); // ["CREATE TABLE prompts (...) WITH (...)", "INSERT INTO answers SELECT ..."]
 * }</pre>
 */
@Internal
public record SqlScript(Map<String, String> settings, List<String> statements) {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Za-z0-9_.-]+)}");
    private static final Pattern SET = Pattern.compile("(?is)SET\\s+'([^']*)'\\s*=\\s*'((?:[^']|'')*)'");

    /** @throws IllegalArgumentException naming a placeholder that {@code values} does not define */
    public static SqlScript parse(String script, Map<String, String> values) {
        Matcher m = PLACEHOLDER.matcher(script);
        StringBuilder substituted = new StringBuilder();
        while (m.find()) {
            String value = values.get(m.group(1));
            if (value == null) {
                throw new IllegalArgumentException("the script uses ${" + m.group(1) + "} but it is not set; pass --"
                        + m.group(1) + " VALUE (set: " + values.keySet() + ")");
            }
            m.appendReplacement(substituted, Matcher.quoteReplacement(value));
        }
        m.appendTail(substituted);
        Map<String, String> settings = new LinkedHashMap<>();
        List<String> statements = new ArrayList<>();
        for (String statement : split(substituted.toString())) {
            Matcher set = SET.matcher(statement);
            if (set.matches()) {
                settings.put(set.group(1), set.group(2).replace("''", "'"));
            } else {
                statements.add(statement);
            }
        }
        return new SqlScript(settings, statements);
    }

    /** Statements split at {@code ;} outside 'strings', "identifiers", `identifiers`, -- and block comments. */
    static List<String> split(String script) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        int n = script.length();
        for (int i = 0; i < n; i++) {
            char c = script.charAt(i);
            if (c == '-' && i + 1 < n && script.charAt(i + 1) == '-') {
                int end = script.indexOf('\n', i);
                i = end < 0 ? n : end; // a comment ends at its line; the newline is kept below
                if (end >= 0) {
                    current.append('\n');
                }
            } else if (c == '/' && i + 1 < n && script.charAt(i + 1) == '*') {
                int end = script.indexOf("*/", i + 2);
                i = end < 0 ? n : end + 1;
                current.append(' ');
            } else if (c == '\'' || c == '"' || c == '`') {
                int end = i + 1;
                while (end < n && script.charAt(end) != c) {
                    end++;
                }
                // SQL escapes a quote by doubling it: 'it''s' is read as two quoted runs back to back.
                current.append(script, i, Math.min(end + 1, n));
                i = end;
            } else if (c == ';') {
                add(out, current);
            } else {
                current.append(c);
            }
        }
        add(out, current);
        return out;
    }

    private static void add(List<String> out, StringBuilder current) {
        String statement = current.toString().strip();
        if (!statement.isEmpty()) {
            out.add(statement);
        }
        current.setLength(0);
    }
}
