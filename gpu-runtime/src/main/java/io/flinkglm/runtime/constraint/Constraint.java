package io.flinkglm.runtime.constraint;

import org.apache.flink.annotation.PublicEvolving;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a request's output must be: JSON valid under a schema, any JSON object, a whole match of a
 * regular expression, or exactly one of a few strings. The engine masks every token whose bytes
 * cannot continue such an output, so whatever is sampled is a valid prefix, and a request that
 * stops with a stop token holds a whole valid output.
 *
 * <p>Creating a constraint compiles it (once per distinct text: compiled automata are cached), so a
 * schema keyword or regex construct outside the supported subset fails here, with an
 * {@link IllegalArgumentException} that names it (see {@link JsonSchemaGrammar} and
 * {@link RegexParser} for the subsets).
 *
 * <pre>{@code
 * Constraint c = Constraint.jsonSchema("{\"type\":\"object\",\"properties\":{\"urgency\":{\"enum\":[\"low\",\"high\"]}},"
 *         + "\"required\":[\"urgency\"],\"additionalProperties\":false}");
 * GenerationRequest r = GenerationRequest.builder("t1", prompt).constraint(c).build();
 * }</pre>
 */
@PublicEvolving
public final class Constraint {
    /** Which language the text describes. */
    public enum Kind { JSON_SCHEMA, JSON_OBJECT, REGEX, CHOICE }

    private static final int CACHE_SIZE = 256;
    /** Compiled automata by kind and text, least recently used dropped first. */
    private static final Map<String, ByteAutomaton> COMPILED = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, ByteAutomaton> eldest) {
            return size() > CACHE_SIZE;
        }
    };

    private final Kind kind;
    private final String text;
    private final ByteAutomaton automaton;

    private Constraint(Kind kind, String text) {
        this.kind = kind;
        this.text = text;
        this.automaton = compile(kind, text);
    }

    /** JSON valid under {@code schema} (a JSON-schema document), written compactly. */
    public static Constraint jsonSchema(String schema) {
        return new Constraint(Kind.JSON_SCHEMA, Objects.requireNonNull(schema, "schema"));
    }

    /** Any JSON object (objects and arrays nested at most {@link JsonSchemaGrammar#ANY_DEPTH} deep). */
    public static Constraint jsonObject() {
        return new Constraint(Kind.JSON_OBJECT, "");
    }

    /** Text that {@code regex} matches as a whole ({@code java.util.regex} meaning, a subset). */
    public static Constraint regex(String regex) {
        return new Constraint(Kind.REGEX, Objects.requireNonNull(regex, "regex"));
    }

    /** Exactly one of {@code options}. */
    public static Constraint choice(List<String> options) {
        if (options.isEmpty()) {
            throw new IllegalArgumentException("a choice constraint needs at least one option");
        }
        for (String o : options) {
            if (o.isEmpty()) {
                throw new IllegalArgumentException("a choice constraint's options must not be empty strings");
            }
        }
        // Options are joined with a separator no option can hold (NUL), so the text keys the cache.
        return new Constraint(Kind.CHOICE, String.join("\0", options));
    }

    public Kind kind() {
        return kind;
    }

    /** The schema, regex or options (NUL-separated) as given. */
    public String text() {
        return text;
    }

    ByteAutomaton automaton() {
        return automaton;
    }

    /** The state that the output starts in. */
    public int startState() {
        return automaton.start();
    }

    /** The state after {@code bytes} from {@code state}; negative when they cannot continue a valid output. */
    public int advance(int state, byte[] bytes) {
        return state < 0 ? state : automaton.next(state, bytes);
    }

    /** Whether the output that reached {@code state} is whole. */
    public boolean isComplete(int state) {
        return state >= 0 && automaton.isAccepting(state);
    }

    /** Whether any byte can still follow the output that reached {@code state}. */
    public boolean canContinue(int state) {
        return state >= 0 && automaton.canContinue(state);
    }

    /**
     * The ids of {@code vocabulary} whose bytes may come next from {@code state}, as a bit set
     * ({@code bits[id >>> 6] & (1L << id)}; shared, do not modify). Stop tokens are not in it: they
     * are allowed exactly when {@link #isComplete}.
     */
    public long[] allowedTokens(int state, TokenTrie vocabulary) {
        return automaton.mask(state, vocabulary);
    }

    /** The whole output {@code text} is valid: a check for tests and callers that got text elsewhere. */
    public boolean accepts(byte[] output) {
        return isComplete(advance(startState(), output));
    }

    private static ByteAutomaton compile(Kind kind, String text) {
        String key = kind + "\0" + text;
        synchronized (COMPILED) {
            ByteAutomaton cached = COMPILED.get(key);
            if (cached != null) {
                return cached;
            }
        }
        Rx rx = switch (kind) {
            case JSON_SCHEMA -> JsonSchemaGrammar.compile(text);
            case JSON_OBJECT -> JsonSchemaGrammar.anyObject();
            case REGEX -> RegexParser.parse(text);
            case CHOICE -> Rx.alt(java.util.Arrays.stream(text.split("\0", -1)).map(Rx::text).toList());
        };
        ByteAutomaton compiled = new ByteAutomaton(ByteNfa.of(rx));
        synchronized (COMPILED) {
            COMPILED.putIfAbsent(key, compiled);
            return COMPILED.get(key);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Constraint c && c.kind == kind && c.text.equals(text);
    }

    @Override
    public int hashCode() {
        return kind.hashCode() * 31 + text.hashCode();
    }

    @Override
    public String toString() {
        return kind + " " + (text.length() > 80 ? text.substring(0, 80) + "..." : text);
    }
}
