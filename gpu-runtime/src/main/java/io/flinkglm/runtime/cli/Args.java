package io.flinkglm.runtime.cli;

import io.flinkglm.runtime.tokenizer.StrictUtf8;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * {@code --key value} and {@code --flag} arguments of one {@code bin/glm} command. Every option a
 * command reads is marked used; {@link #rejectUnused} then reports typos instead of ignoring them.
 */
final class Args {
    private final Map<String, String> values = new HashMap<>();
    private final Set<String> used = new HashSet<>();
    private final java.io.InputStream stdin;

    Args(String[] argv, int from, Set<String> flags, java.io.InputStream stdin) {
        this.stdin = stdin;
        for (int i = from; i < argv.length; i++) {
            String a = argv[i];
            if (!a.startsWith("--")) {
                throw new UsageException("unexpected argument \"" + a + "\"");
            }
            String key = a.substring(2);
            int eq = key.indexOf('=');
            if (eq >= 0) {
                values.put(key.substring(0, eq), key.substring(eq + 1));
            } else if (flags.contains(key)) {
                values.put(key, "true");
            } else if (i + 1 < argv.length) {
                values.put(key, argv[++i]);
            } else {
                throw new UsageException("--" + key + " needs a value");
            }
        }
    }

    /** The command's standard input, all of it, as strict UTF-8: invalid bytes are an error, never replaced. */
    String stdinText() throws java.io.IOException {
        try {
            return StrictUtf8.decode(stdin.readAllBytes());
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException("standard input is not valid UTF-8 (" + e.getMessage() + ")");
        }
    }

    String string(String key, String fallback) {
        used.add(key);
        return values.getOrDefault(key, fallback);
    }

    String required(String key) {
        String v = string(key, null);
        if (v == null) {
            throw new UsageException("missing --" + key);
        }
        return v;
    }

    Path path(String key) {
        return Path.of(required(key));
    }

    boolean flag(String key) {
        return Boolean.parseBoolean(string(key, "false"));
    }

    boolean has(String key) {
        used.add(key);
        return values.containsKey(key);
    }

    int integer(String key, int fallback) {
        String v = string(key, null);
        try {
            return v == null ? fallback : Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + key + " must be an integer, not \"" + v + "\"");
        }
    }

    long longValue(String key, long fallback) {
        String v = string(key, null);
        try {
            return v == null ? fallback : Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + key + " must be an integer, not \"" + v + "\"");
        }
    }

    Double decimal(String key) {
        String v = string(key, null);
        try {
            return v == null ? null : Double.valueOf(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + key + " must be a number, not \"" + v + "\"");
        }
    }

    /** A comma-separated list of integers, e.g. {@code --tokens 1,2,3}; at least one, none empty. */
    int[] integers(String key) {
        String v = required(key);
        // split(",", -1) keeps empty fields, so "1,,2" and ",,," are refused rather than shortened.
        String[] parts = v.split(",", -1);
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new UsageException("--" + key + " needs comma-separated integers such as 1,2,3, got '" + v + "'");
            }
        }
        return out;
    }

    void rejectUnused() {
        for (String key : values.keySet()) {
            if (!used.contains(key)) {
                throw new UsageException("unknown option --" + key);
            }
        }
    }

    /** A mistake in the command line: reported with the usage text and exit code 2. */
    static final class UsageException extends IllegalArgumentException {
        UsageException(String message) {
            super(message);
        }
    }
}
