package io.flinkglm.runtime.constraint;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The deterministic automaton of a {@link ByteNfa}, built lazily (subset construction, one state
 * per set of NFA states the bytes so far can reach, created the first time a walk needs it), with
 * the token masks of its states cached beside it. A state is a plain int, so a sequence's whole
 * constraint state is one int and equal outputs reach equal states: a mask depends on nothing but
 * the sequence's own output.
 *
 * <p>Thread-safe: every method that may create states or masks holds the automaton's lock. The
 * engine's sampling threads share one automaton per constraint; a state's mask is computed once
 * and then read under the lock in O(1).
 */
final class ByteAutomaton {
    static final int DEAD = -1;
    private static final int UNKNOWN = -2;

    private final ByteNfa nfa;
    private final List<int[]> sets = new ArrayList<>();        // [state] sorted NFA states
    private final List<int[]> transitions = new ArrayList<>(); // [state][256] next state, UNKNOWN or DEAD
    private final Map<Key, Integer> ids = new HashMap<>();
    private final Map<TokenTrie, List<long[]>> masks = new HashMap<>(); // per vocabulary, [state] mask or null
    private final int start;

    ByteAutomaton(ByteNfa nfa) {
        this.nfa = nfa;
        this.start = stateOf(closure(new int[]{ByteNfa.START}));
    }

    int start() {
        return start;
    }

    synchronized int stateCount() {
        return sets.size();
    }

    /** The state after byte {@code b} (0..255) from {@code state}, or {@link #DEAD}. */
    synchronized int next(int state, int b) {
        return step(state, b);
    }

    /** The state after all of {@code bytes}, or {@link #DEAD} once one cannot follow. */
    synchronized int next(int state, byte[] bytes) {
        for (byte b : bytes) {
            if (state < 0) {
                return DEAD;
            }
            state = step(state, b & 0xFF);
        }
        return state;
    }

    /** Whether the output so far is a whole member of the language. */
    synchronized boolean isAccepting(int state) {
        return Arrays.binarySearch(sets.get(state), ByteNfa.ACCEPT) >= 0;
    }

    /** Whether any byte may follow: false once the output is complete and nothing can extend it. */
    synchronized boolean canContinue(int state) {
        for (int s : sets.get(state)) {
            if (nfa.byteEdges(s).length > 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * The tokens of {@code trie} whose bytes keep the output valid from {@code state}, as a bit set
     * over ids ({@code [ceil(vocab / 64)]}, not to be modified). Computed by one trie walk the first
     * time a state is asked, then a lookup.
     */
    synchronized long[] mask(int state, TokenTrie trie) {
        List<long[]> cache = masks.computeIfAbsent(trie, t -> new ArrayList<>());
        while (cache.size() <= state) {
            cache.add(null);
        }
        long[] m = cache.get(state);
        if (m == null) {
            m = new long[(trie.vocabSize() + 63) >>> 6];
            trie.allowed(state, this::step, m);
            cache.set(state, m);
        }
        return m;
    }

    private int step(int state, int b) {
        int[] row = transitions.get(state);
        int next = row[b];
        if (next == UNKNOWN) {
            next = computeStep(state, b);
            row[b] = next;
        }
        return next;
    }

    private int computeStep(int state, int b) {
        int[] targets = new int[8];
        int n = 0;
        for (int s : sets.get(state)) {
            int[] e = nfa.byteEdges(s);
            for (int i = 0; i < e.length; i += 3) {
                if (b >= e[i] && b <= e[i + 1]) {
                    if (n == targets.length) {
                        targets = Arrays.copyOf(targets, n * 2);
                    }
                    targets[n++] = e[i + 2];
                }
            }
        }
        return n == 0 ? DEAD : stateOf(closure(Arrays.copyOf(targets, n)));
    }

    /** The sorted epsilon closure of {@code seeds}. */
    private int[] closure(int[] seeds) {
        boolean[] seen = new boolean[nfa.stateCount()];
        int[] stack = new int[Math.max(16, seeds.length)];
        int top = 0;
        int[] out = new int[16];
        int n = 0;
        for (int s : seeds) {
            if (!seen[s]) {
                seen[s] = true;
                if (top == stack.length) {
                    stack = Arrays.copyOf(stack, top * 2);
                }
                stack[top++] = s;
            }
        }
        while (top > 0) {
            int s = stack[--top];
            if (n == out.length) {
                out = Arrays.copyOf(out, n * 2);
            }
            out[n++] = s;
            for (int t : nfa.epsilon(s)) {
                if (!seen[t]) {
                    seen[t] = true;
                    if (top == stack.length) {
                        stack = Arrays.copyOf(stack, top * 2);
                    }
                    stack[top++] = t;
                }
            }
        }
        int[] set = Arrays.copyOf(out, n);
        Arrays.sort(set);
        return set;
    }

    private int stateOf(int[] set) {
        Key key = new Key(set);
        Integer id = ids.get(key);
        if (id == null) {
            id = sets.size();
            sets.add(set);
            int[] row = new int[256];
            Arrays.fill(row, UNKNOWN);
            transitions.add(row);
            ids.put(key, id);
        }
        return id;
    }

    /** A set of NFA states as a hash key. */
    private record Key(int[] states) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(states, k.states);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(states);
        }
    }
}
