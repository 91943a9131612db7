package io.flinkglm.runtime.constraint;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The automaton of a GLM-4 assistant turn that may (or, when required, must) be a tool call,
 * {@code name + "\n" + arguments}: a trie over the tools' names and separator that hands over to the
 * tool's own arguments automaton after the separator.
 *
 * <p>When a call is optional, the turn may also be an answer: once the output leaves every
 * {@code name + "\n"} prefix it is text, under the answer's own automaton when there is one (a
 * {@code response_format}) and free otherwise. While the output is still a prefix of some name it
 * is both, so the answer's automaton runs beside the trie from the first byte.
 *
 * <p>A state is one of three places, interned to an int so that equal outputs reach equal states:
 * <ul>
 *   <li>{@code NAME(node, answer)}: the output is the bytes of trie node {@code node}, and the
 *       answer automaton is in state {@code answer} after them ({@link #DEAD} when it cannot be an answer);
 *   <li>{@code ANSWER(answer)}: the output diverged from every name and is an answer;
 *   <li>{@code ARGUMENTS(tool, inner)}: the output is {@code name + "\n"} of tool {@code tool}
 *       followed by arguments that left the tool's automaton in state {@code inner}.
 * </ul>
 * Free text (an answer without a format, a built-in tool's input) is an automaton of one state.
 */
final class ToolCallAutomaton extends LazyAutomaton {
    private static final int NAME = 0;
    private static final int ANSWER = 1;
    private static final int ARGUMENTS = 2;
    /** The inner state of free text: it takes every byte and is always whole. */
    private static final int FREE = 0;

    private final boolean required;
    private final LazyAutomaton[] arguments; // [tool] the arguments' automaton, null: free text
    private final LazyAutomaton answer;      // the answer's automaton, null: free text; unused when required
    private final NameTrie names;
    private final List<Place> places = new ArrayList<>();   // [state] where the output is
    private final Map<Place, Integer> ids = new HashMap<>();
    private final int start;

    /**
     * @param names     the tools' names, none empty, none with a newline, all distinct
     * @param arguments per name, the automaton of its arguments; null for free text
     * @param required  whether the output must be a call; otherwise it may be an answer
     * @param answer    the automaton of an answer; null for free text (ignored when required)
     */
    ToolCallAutomaton(List<String> names, List<LazyAutomaton> arguments, boolean required, LazyAutomaton answer) {
        this.required = required;
        this.arguments = arguments.toArray(new LazyAutomaton[0]);
        this.answer = required ? null : answer;
        this.names = new NameTrie(names);
        this.start = place(NAME, 0, required ? DEAD : answerStart());
    }

    @Override
    int start() {
        return start;
    }

    /** Whether the output that reached {@code state} is (so far) a tool call rather than an answer. */
    synchronized boolean inCall(int state) {
        return places.get(state).kind() == ARGUMENTS;
    }

    @Override
    synchronized boolean isAccepting(int state) {
        Place p = places.get(state);
        return switch (p.kind()) {
            case NAME, ANSWER -> answerAccepts(p.b());
            default -> arguments[p.a()] == null || arguments[p.a()].isAccepting(p.b());
        };
    }

    @Override
    synchronized boolean canContinue(int state) {
        Place p = places.get(state);
        return switch (p.kind()) {
            case NAME -> true; // a name always goes on to its separator
            case ANSWER -> answer == null || answer.canContinue(p.b());
            default -> arguments[p.a()] == null || arguments[p.a()].canContinue(p.b());
        };
    }

    @Override
    int computeStep(int state, int b) {
        Place p = places.get(state);
        switch (p.kind()) {
            case NAME -> {
                int answerNext = answerStep(p.b(), b);
                int child = names.child(p.a(), b);
                if (child < 0) {
                    return answerNext < 0 ? DEAD : place(ANSWER, 0, answerNext);
                }
                int tool = names.toolEndingAt(child);
                if (tool >= 0) { // "name\n" is whole: the call has begun, and no name continues it
                    return place(ARGUMENTS, tool, arguments[tool] == null ? FREE : arguments[tool].start());
                }
                return place(NAME, child, answerNext);
            }
            case ANSWER -> {
                int answerNext = answerStep(p.b(), b);
                return answerNext < 0 ? DEAD : place(ANSWER, 0, answerNext);
            }
            default -> {
                LazyAutomaton a = arguments[p.a()];
                if (a == null) {
                    return state;
                }
                int inner = a.next(p.b(), b);
                return inner < 0 ? DEAD : place(ARGUMENTS, p.a(), inner);
            }
        }
    }

    /**
     * While the output may still be any answer (a free one) or a call, nearly every token is allowed: the
     * mask is the free answer's, less the tokens that run through a tool's name into arguments that cannot
     * be. Only those few subtrees of the vocabulary are walked, not the whole of it once per name prefix.
     */
    @Override
    long[] computeMask(int state, TokenTrie trie) {
        Place p = places.get(state);
        if (p.kind() != NAME || required || answer != null) {
            return super.computeMask(state, trie);
        }
        int free = place(ANSWER, 0, FREE);
        long[] m = mask(free, trie).clone();
        trie.refine(state, this::step, free, m);
        return m;
    }

    private int answerStart() {
        return answer == null ? FREE : answer.start();
    }

    private int answerStep(int answerState, int b) {
        if (answerState < 0) {
            return DEAD;
        }
        return answer == null ? FREE : answer.next(answerState, b);
    }

    private boolean answerAccepts(int answerState) {
        return answerState >= 0 && (answer == null || answer.isAccepting(answerState));
    }

    private int place(int kind, int a, int b) {
        Place key = new Place(kind, a, b);
        Integer id = ids.get(key);
        if (id == null) {
            id = addState();
            places.add(key);
            ids.put(key, id);
        }
        return id;
    }

    /** {@code kind} NAME (a: trie node, b: answer state), ANSWER (b: answer state) or ARGUMENTS (a: tool, b: its state). */
    private record Place(int kind, int a, int b) {
    }

    /** The UTF-8 bytes of every {@code name + "\n"} as a trie; node 0 is the empty prefix. */
    private static final class NameTrie {
        private final List<Map<Integer, Integer>> children = new ArrayList<>(); // [node] byte to child
        private final List<Integer> toolAt = new ArrayList<>();                 // [node] tool whose "name\n" ends here, -1

        NameTrie(List<String> names) {
            children.add(new HashMap<>());
            toolAt.add(-1);
            for (int tool = 0; tool < names.size(); tool++) {
                int node = 0;
                for (byte b : (names.get(tool) + "\n").getBytes(StandardCharsets.UTF_8)) {
                    Integer c = children.get(node).get(b & 0xFF);
                    if (c == null) {
                        c = children.size();
                        children.add(new HashMap<>());
                        toolAt.add(-1);
                        children.get(node).put(b & 0xFF, c);
                    }
                    node = c;
                }
                toolAt.set(node, tool);
            }
        }

        int child(int node, int b) {
            Integer c = children.get(node).get(b);
            return c == null ? -1 : c;
        }

        int toolEndingAt(int node) {
            return toolAt.get(node);
        }
    }
}
