package io.flinkglm.runtime.constraint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.annotation.PublicEvolving;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;

/**
 * What a request's output must be: JSON valid under a schema, any JSON object, a whole match of a
 * regular expression, exactly one of a few strings, or a GLM-4 tool call whose arguments are valid
 * for the tool it names (see {@link #toolCall}). The engine masks every token whose bytes
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
    public enum Kind { JSON_SCHEMA, JSON_OBJECT, REGEX, CHOICE, TOOL_CALL }

    private static final int CACHE_SIZE = 256;
    private static final ObjectMapper KEYS = new ObjectMapper();
    /** Compiled automata by kind and text, least recently used dropped first. */
    private static final Map<String, LazyAutomaton> COMPILED = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, LazyAutomaton> eldest) {
            return size() > CACHE_SIZE;
        }
    };

    private final Kind kind;
    private final String text;
    private final LazyAutomaton automaton;
    /** For {@link Kind#TOOL_CALL}: the stop tokens that end a call (GLM-4's {@code <|observation|>}); else empty. */
    private final Set<Integer> callEndTokenIds;

    private Constraint(Kind kind, String text) {
        this.kind = kind;
        this.text = text;
        this.automaton = compile(kind, text, () -> { throw new IllegalStateException(kind + " compiles from its text"); });
        this.callEndTokenIds = Set.of();
    }

    private Constraint(String text, Supplier<LazyAutomaton> build, Set<Integer> callEndTokenIds) {
        this.kind = Kind.TOOL_CALL;
        this.text = text;
        this.automaton = compile(Kind.TOOL_CALL, text, build);
        this.callEndTokenIds = Set.copyOf(callEndTokenIds);
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

    /**
     * A GLM-4 assistant turn that is a call {@code name + "\n" + arguments} to one of {@code tools},
     * its arguments under that tool's constraint: with {@code required} it must be such a call; otherwise
     * it may also be an answer, which it is once it has left every {@code name + "\n"} prefix, under
     * {@code answer} (null: free text). A call may end only on one of {@code callEndTokenIds}, an answer
     * only on the request's other stop tokens, so the stop token says which the turn is.
     *
     * <pre>{@code
     * Map<String, Constraint> tools = new LinkedHashMap<>();
     * tools.put("get_weather", Constraint.jsonSchema(weatherParameters));
     * tools.put("python", null);  // a built-in: free text input
     * Constraint c = Constraint.toolCall(tools, true, null, Set.of(observationId));
     * }</pre>
     *
     * @param tools           name to the constraint of its arguments (null: free text), in offer order;
     *                        names non-empty, on one line
     * @param required        whether the turn must be a call
     * @param answer          what an answer must be when the call is optional; null: free text
     * @param callEndTokenIds the stop tokens that end a call; the request's stop tokens must include them
     * @throws IllegalArgumentException for no tools with {@code required}, a bad name, or a nested tool call constraint
     */
    public static Constraint toolCall(Map<String, Constraint> tools, boolean required, Constraint answer,
                                      Set<Integer> callEndTokenIds) {
        if (required && tools.isEmpty()) {
            throw new IllegalArgumentException("a required tool call needs at least one tool");
        }
        if (callEndTokenIds.isEmpty()) {
            throw new IllegalArgumentException("a tool call constraint needs the stop token(s) that end a call");
        }
        ObjectNode key = KEYS.createObjectNode();
        key.put("required", required);
        ArrayNode toolKeys = key.putArray("tools");
        List<String> names = new ArrayList<>();
        List<Constraint> arguments = new ArrayList<>();
        for (Map.Entry<String, Constraint> t : tools.entrySet()) {
            String name = t.getKey();
            if (name == null || name.isEmpty() || name.indexOf('\n') >= 0) {
                throw new IllegalArgumentException("a tool name must be non-empty and on one line, got '" + name + "'");
            }
            Constraint a = t.getValue();
            if (a != null && a.kind == Kind.TOOL_CALL) {
                throw new IllegalArgumentException("the arguments of tool " + name + " cannot themselves be a tool call");
            }
            names.add(name);
            arguments.add(a);
            toolKeys.addObject().put("name", name).put("arguments", a == null ? null : a.kind + "\0" + a.text);
        }
        if (answer != null && answer.kind == Kind.TOOL_CALL) {
            throw new IllegalArgumentException("an answer cannot itself be a tool call");
        }
        Constraint effectiveAnswer = required ? null : answer;
        key.put("answer", effectiveAnswer == null ? null : effectiveAnswer.kind + "\0" + effectiveAnswer.text);
        callEndTokenIds.stream().sorted().forEach(key.putArray("callEnd")::add);
        return new Constraint(key.toString(), () -> new ToolCallAutomaton(names,
                arguments.stream().map(a -> a == null ? null : a.automaton).toList(), required,
                effectiveAnswer == null ? null : effectiveAnswer.automaton), callEndTokenIds);
    }

    public Kind kind() {
        return kind;
    }

    /** The schema, regex or options (NUL-separated) as given; for a tool call, a JSON description of its parts. */
    public String text() {
        return text;
    }

    LazyAutomaton automaton() {
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

    /**
     * Which of {@code stopTokenIds} may end the output that reached {@code state}: none while it is not
     * whole; for a {@link Kind#TOOL_CALL}, a call's end tokens after a whole call and the others after an
     * answer; otherwise all of them.
     */
    public List<Integer> allowedStops(int state, List<Integer> stopTokenIds) {
        if (!isComplete(state)) {
            return List.of();
        }
        if (kind != Kind.TOOL_CALL) {
            return stopTokenIds;
        }
        boolean call = ((ToolCallAutomaton) automaton).inCall(state);
        return stopTokenIds.stream().filter(id -> callEndTokenIds.contains(id) == call).toList();
    }

    /** Whether the output that reached {@code state} is a tool call under way (only a {@link Kind#TOOL_CALL} has calls). */
    public boolean inCall(int state) {
        return kind == Kind.TOOL_CALL && state >= 0 && ((ToolCallAutomaton) automaton).inCall(state);
    }

    /** The whole output {@code text} is valid: a check for tests and callers that got text elsewhere. */
    public boolean accepts(byte[] output) {
        return isComplete(advance(startState(), output));
    }

    private static LazyAutomaton compile(Kind kind, String text, Supplier<LazyAutomaton> composite) {
        String key = kind + "\0" + text;
        synchronized (COMPILED) {
            LazyAutomaton cached = COMPILED.get(key);
            if (cached != null) {
                return cached;
            }
        }
        if (kind == Kind.TOOL_CALL) {
            LazyAutomaton built = composite.get();
            synchronized (COMPILED) {
                COMPILED.putIfAbsent(key, built);
                return COMPILED.get(key);
            }
        }
        Rx rx = switch (kind) {
            case JSON_SCHEMA -> JsonSchemaGrammar.compile(text);
            case JSON_OBJECT -> JsonSchemaGrammar.anyObject();
            case REGEX -> RegexParser.parse(text);
            case CHOICE -> Rx.alt(java.util.Arrays.stream(text.split("\0", -1)).map(Rx::text).toList());
            case TOOL_CALL -> throw new IllegalStateException("unreachable");
        };
        LazyAutomaton compiled = new ByteAutomaton(ByteNfa.of(rx));
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
