package io.flinkglm.runtime.constraint;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A deterministic byte automaton whose states and transitions are created the first time a walk
 * needs them, with the token masks of its states cached beside it. A state is a plain int, so a
 * sequence's whole constraint state is one int and equal outputs reach equal states: a mask depends
 * on nothing but the sequence's own output. Subclasses say what a state means ({@link ByteAutomaton}:
 * a set of NFA states; {@link ToolCallAutomaton}: a place in a tool call) and compute one step.
 *
 * <p>Thread-safe: every method that may create states or masks holds the automaton's lock. The
 * engine's sampling threads share one automaton per constraint; a state's mask is computed once
 * and then read under the lock in O(1).
 */
abstract class LazyAutomaton {
    static final int DEAD = -1;
    private static final int UNKNOWN = -2;

    private final List<int[]> transitions = new ArrayList<>(); // [state][256] next state, UNKNOWN or DEAD
    private final Map<TokenTrie, List<long[]>> masks = new HashMap<>(); // per vocabulary, [state] mask or null

    abstract int start();

    /** The state after byte {@code b} from {@code state} (never {@link #DEAD}), or {@link #DEAD}; called once per pair. */
    abstract int computeStep(int state, int b);

    /** Whether the output so far is whole. */
    abstract boolean isAccepting(int state);

    /** Whether any byte may follow: false once the output is complete and nothing can extend it. */
    abstract boolean canContinue(int state);

    /** Registers a new state's transition row; returns its id, which is the number of states before it. */
    final int addState() {
        int[] row = new int[256];
        Arrays.fill(row, UNKNOWN);
        transitions.add(row);
        return transitions.size() - 1;
    }

    synchronized int stateCount() {
        return transitions.size();
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
            m = computeMask(state, trie);
            cache.set(state, m);
        }
        return m;
    }

    /** The mask of {@code state}, not yet cached: by default one walk of the whole trie. Called holding the lock. */
    long[] computeMask(int state, TokenTrie trie) {
        long[] m = new long[(trie.vocabSize() + 63) >>> 6];
        trie.allowed(state, this::step, m);
        return m;
    }

    /** {@link #next(int, int)} for subclasses already holding the lock. */
    final int step(int state, int b) {
        int[] row = transitions.get(state);
        int next = row[b];
        if (next == UNKNOWN) {
            next = computeStep(state, b);
            row[b] = next;
        }
        return next;
    }
}
