package io.flinkglm.runtime.constraint;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The deterministic automaton of a {@link ByteNfa}, built lazily (subset construction, one state
 * per set of NFA states the bytes so far can reach, created the first time a walk needs it).
 */
final class ByteAutomaton extends LazyAutomaton {
    private final ByteNfa nfa;
    private final List<int[]> sets = new ArrayList<>();        // [state] sorted NFA states
    private final Map<Key, Integer> ids = new HashMap<>();
    private final int start;

    ByteAutomaton(ByteNfa nfa) {
        this.nfa = nfa;
        this.start = stateOf(closure(new int[]{ByteNfa.START}));
    }

    @Override
    int start() {
        return start;
    }

    @Override
    synchronized boolean isAccepting(int state) {
        return Arrays.binarySearch(sets.get(state), ByteNfa.ACCEPT) >= 0;
    }

    @Override
    synchronized boolean canContinue(int state) {
        for (int s : sets.get(state)) {
            if (nfa.byteEdges(s).length > 0) {
                return true;
            }
        }
        return false;
    }

    @Override
    int computeStep(int state, int b) {
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
            id = addState();
            sets.add(set);
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
