package io.flinkglm.runtime.constraint;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A Thompson NFA over bytes built from an {@link Rx}: state 0 starts, state 1 accepts, edges are
 * epsilon or a byte range. Code point sets become UTF-8 byte-range sequences (the split that Go's
 * {@code regexp/syntax} and Rust's {@code utf8-ranges} use), so the automaton accepts exactly the
 * well-formed UTF-8 of its language and no token can end it in the middle of an invalid character.
 * After building, states that cannot reach the accepting state are cut, so every state a walk
 * can be in still has a way to finish: the mask never leads a sequence into a dead end.
 */
final class ByteNfa {
    /** A guard against schemas that expand beyond reason ({@code maxLength: 100000} and the like). */
    static final int MAX_STATES = 400_000;
    static final int START = 0;
    static final int ACCEPT = 1;

    private int count;
    private int[][] eps = new int[64][];      // [state] epsilon targets (null: none)
    private int[][] edges = new int[64][];    // [state] triples lo, hi, target

    private ByteNfa() {
        count = 2;
    }

    static ByteNfa of(Rx rx) {
        ByteNfa n = new ByteNfa();
        n.build(rx, START, ACCEPT);
        n.trim();
        return n;
    }

    int stateCount() {
        return count;
    }

    int[] epsilon(int state) {
        return eps[state] == null ? NONE : eps[state];
    }

    int[] byteEdges(int state) {
        return edges[state] == null ? NONE : edges[state];
    }

    private static final int[] NONE = new int[0];

    private int newState() {
        if (count == MAX_STATES) {
            throw new IllegalArgumentException("the constraint expands to more than " + MAX_STATES
                    + " automaton states; lower its maxLength/maxItems bounds or its regex repetition counts");
        }
        if (count == eps.length) {
            eps = Arrays.copyOf(eps, count * 2);
            edges = Arrays.copyOf(edges, count * 2);
        }
        return count++;
    }

    private void epsilon(int from, int to) {
        eps[from] = append(eps[from], to);
    }

    private void edge(int from, int lo, int hi, int to) {
        edges[from] = append(edges[from], lo, hi, to);
    }

    private static int[] append(int[] a, int... values) {
        int n = a == null ? 0 : a.length;
        int[] out = a == null ? new int[values.length] : Arrays.copyOf(a, n + values.length);
        System.arraycopy(values, 0, out, n, values.length);
        return out;
    }

    /** Wires the language of {@code rx} from state {@code from} to state {@code to}. */
    private void build(Rx rx, int from, int to) {
        if (rx instanceof Rx.Bytes || rx instanceof Rx.Chars) {
            buildOnce(rx, from, to);
            return;
        }
        // One node built twice toward the same state can share its states: its continuation is the
        // same. Schemas reuse nodes that way (the rest of an object's members after an optional one).
        // The fresh entry state keeps the shared part's edges to itself.
        IdentityKey key = new IdentityKey(rx, to);
        Integer entry = built.get(key);
        if (entry == null) {
            entry = newState();
            built.put(key, entry);
            buildOnce(rx, entry, to);
        }
        epsilon(from, entry);
    }

    private final java.util.Map<IdentityKey, Integer> built = new java.util.HashMap<>();

    private record IdentityKey(Rx rx, int to) {
        @Override
        public boolean equals(Object o) {
            return o instanceof IdentityKey k && k.rx == rx && k.to == to;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(rx) * 31 + to;
        }
    }

    private void buildOnce(Rx rx, int from, int to) {
        if (rx instanceof Rx.Bytes b) {
            int at = from;
            for (int i = 0; i < b.bytes().length; i++) {
                int next = i == b.bytes().length - 1 ? to : newState();
                int v = b.bytes()[i] & 0xFF;
                edge(at, v, v, next);
                at = next;
            }
            if (b.bytes().length == 0) {
                epsilon(from, to);
            }
        } else if (rx instanceof Rx.Chars c) {
            int[] r = c.set().ranges();
            for (int i = 0; i < r.length; i += 2) {
                utf8(r[i], r[i + 1], from, to);
            }
        } else if (rx instanceof Rx.Seq s) {
            int at = from;
            for (int i = 0; i < s.items().size(); i++) {
                int next = i == s.items().size() - 1 ? to : newState();
                build(s.items().get(i), at, next);
                at = next;
            }
            if (s.items().isEmpty()) {
                epsilon(from, to);
            }
        } else if (rx instanceof Rx.Alt a) {
            for (Rx option : a.options()) {
                // A fresh entry state per option keeps one option's loops from reaching into another.
                int entry = newState();
                epsilon(from, entry);
                build(option, entry, to);
            }
        } else if (rx instanceof Rx.Joined j) {
            int item = newState();
            int after = newState();
            epsilon(from, item);
            build(j.item(), item, after);
            epsilon(after, to);
            build(j.separator(), after, item);
        } else if (rx instanceof Rx.Repeat r) {
            int at = from;
            for (int i = 0; i < r.min(); i++) {
                int next = newState();
                build(r.item(), at, next);
                at = next;
            }
            if (r.max() == Rx.UNBOUNDED) {
                int loop = newState();
                int back = newState();
                epsilon(at, loop);
                epsilon(loop, to);
                build(r.item(), loop, back);
                epsilon(back, loop);
            } else {
                for (int i = r.min(); i < r.max(); i++) {
                    int next = newState();
                    epsilon(at, to);
                    build(r.item(), at, next);
                    at = next;
                }
                epsilon(at, to);
            }
        }
    }

    /** Code points {@code lo..hi} (no surrogates) as UTF-8 byte-range sequences from {@code from} to {@code to}. */
    private void utf8(int lo, int hi, int from, int to) {
        int[] limits = {0x7F, 0x7FF, 0xFFFF};
        for (int limit : limits) {
            if (lo <= limit && hi > limit) {
                utf8(lo, limit, from, to);
                utf8(limit + 1, hi, from, to);
                return;
            }
        }
        if (hi <= 0x7F) {
            edge(from, lo, hi, to);
            return;
        }
        // Split until lo and hi differ only in a way each byte can express as one range.
        for (int i = 1; i < 4; i++) {
            int m = (1 << (6 * i)) - 1;
            if ((lo & ~m) != (hi & ~m)) {
                if ((lo & m) != 0) {
                    utf8(lo, lo | m, from, to);
                    utf8((lo | m) + 1, hi, from, to);
                    return;
                }
                if ((hi & m) != m) {
                    utf8(lo, (hi & ~m) - 1, from, to);
                    utf8(hi & ~m, hi, from, to);
                    return;
                }
            }
        }
        byte[] a = new String(Character.toChars(lo)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] b = new String(Character.toChars(hi)).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int at = from;
        for (int i = 0; i < a.length; i++) {
            int next = i == a.length - 1 ? to : newState();
            edge(at, a[i] & 0xFF, b[i] & 0xFF, next);
            at = next;
        }
    }

    /** Removes every edge into a state that cannot reach {@link #ACCEPT}. */
    private void trim() {
        List<List<Integer>> reverse = new ArrayList<>(count);
        for (int s = 0; s < count; s++) {
            reverse.add(new ArrayList<>());
        }
        for (int s = 0; s < count; s++) {
            for (int t : epsilon(s)) {
                reverse.get(t).add(s);
            }
            int[] e = byteEdges(s);
            for (int i = 0; i < e.length; i += 3) {
                reverse.get(e[i + 2]).add(s);
            }
        }
        boolean[] live = new boolean[count];
        ArrayDeque<Integer> work = new ArrayDeque<>();
        live[ACCEPT] = true;
        work.add(ACCEPT);
        while (!work.isEmpty()) {
            for (int p : reverse.get(work.poll())) {
                if (!live[p]) {
                    live[p] = true;
                    work.add(p);
                }
            }
        }
        if (!live[START]) {
            throw new IllegalArgumentException("the constraint admits no output at all (an empty character"
                    + " class, an empty enum, or bounds that contradict each other)");
        }
        for (int s = 0; s < count; s++) {
            eps[s] = Arrays.stream(epsilon(s)).filter(t -> live[t]).toArray();
            int[] e = byteEdges(s);
            int[] kept = new int[e.length];
            int n = 0;
            for (int i = 0; i < e.length; i += 3) {
                if (live[e[i + 2]]) {
                    kept[n++] = e[i];
                    kept[n++] = e[i + 1];
                    kept[n++] = e[i + 2];
                }
            }
            edges[s] = Arrays.copyOf(kept, n);
        }
    }
}
