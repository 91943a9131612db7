package io.flinkglm.runtime.constraint;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A regular language over UTF-8 text, the one form every constraint compiles to before it becomes
 * a {@link ByteNfa}: a regex parses to it, a JSON schema (which here has no recursion, see
 * {@link JsonSchemaGrammar}) expands to it, a choice is an alternation of literals.
 */
sealed interface Rx {
    /** Unbounded repetition. */
    int UNBOUNDED = -1;

    /** One code point from the set, as its UTF-8 bytes. */
    record Chars(CodePointSet set) implements Rx {
    }

    /** Exactly these bytes. */
    record Bytes(byte[] bytes) implements Rx {
    }

    record Seq(List<Rx> items) implements Rx {
        public Seq {
            items = List.copyOf(items);
        }
    }

    record Alt(List<Rx> options) implements Rx {
        public Alt {
            options = List.copyOf(options);
        }
    }

    /** {@code min..max} copies of {@code item}; max {@link #UNBOUNDED} for no limit. */
    record Repeat(Rx item, int min, int max) implements Rx {
    }

    /**
     * One or more {@code item}s with {@code separator} between them: a single copy of the item in the
     * automaton, where {@code seq(item, repeat(seq(separator, item)))} would need two, which nested
     * JSON values would double at every level.
     */
    record Joined(Rx item, Rx separator) implements Rx {
    }

    static Rx text(String s) {
        return new Bytes(s.getBytes(StandardCharsets.UTF_8));
    }

    static Rx seq(Rx... items) {
        return new Seq(List.of(items));
    }

    static Rx alt(List<Rx> options) {
        return options.size() == 1 ? options.get(0) : new Alt(options);
    }

    static Rx optional(Rx item) {
        return new Repeat(item, 0, 1);
    }
}
