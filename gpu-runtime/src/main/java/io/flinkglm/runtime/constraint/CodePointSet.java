package io.flinkglm.runtime.constraint;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An immutable set of Unicode scalar values as sorted, disjoint, non-adjacent closed ranges
 * {@code [lo0, hi0, lo1, hi1, ...]}. Surrogates (U+D800..U+DFFF) are never members: they have no
 * UTF-8 encoding, so a set that held them could not be matched byte by byte.
 */
final class CodePointSet {
    static final int MAX = 0x10FFFF;
    static final CodePointSet EMPTY = new CodePointSet(new int[0]);
    static final CodePointSet ANY = of(0, MAX);

    private final int[] ranges; // [2 * n]: lo, hi pairs, ascending

    private CodePointSet(int[] ranges) {
        this.ranges = ranges;
    }

    static CodePointSet of(int lo, int hi) {
        return EMPTY.union(lo, hi);
    }

    static CodePointSet ofChars(String chars) {
        CodePointSet s = EMPTY;
        for (int i = 0; i < chars.length(); ) {
            int c = chars.codePointAt(i);
            s = s.union(c, c);
            i += Character.charCount(c);
        }
        return s;
    }

    CodePointSet union(int lo, int hi) {
        return union(new CodePointSet(new int[]{lo, hi}));
    }

    CodePointSet union(CodePointSet other) {
        List<int[]> all = new ArrayList<>();
        for (CodePointSet s : List.of(this, other)) {
            for (int i = 0; i < s.ranges.length; i += 2) {
                all.add(new int[]{s.ranges[i], s.ranges[i + 1]});
            }
        }
        all.sort((a, b) -> Integer.compare(a[0], b[0]));
        List<Integer> out = new ArrayList<>();
        int lo = -1;
        int hi = -2;
        for (int[] r : all) {
            if (r[0] <= hi + 1) {
                hi = Math.max(hi, r[1]);
            } else {
                if (lo >= 0) {
                    out.add(lo);
                    out.add(hi);
                }
                lo = r[0];
                hi = r[1];
            }
        }
        if (lo >= 0) {
            out.add(lo);
            out.add(hi);
        }
        return withoutSurrogates(out.stream().mapToInt(Integer::intValue).toArray());
    }

    CodePointSet complement() {
        List<Integer> out = new ArrayList<>();
        int next = 0;
        for (int i = 0; i < ranges.length; i += 2) {
            if (ranges[i] > next) {
                out.add(next);
                out.add(ranges[i] - 1);
            }
            next = ranges[i + 1] + 1;
        }
        if (next <= MAX) {
            out.add(next);
            out.add(MAX);
        }
        return withoutSurrogates(out.stream().mapToInt(Integer::intValue).toArray());
    }

    CodePointSet minus(CodePointSet other) {
        return complement().union(other).complement();
    }

    CodePointSet intersect(CodePointSet other) {
        return complement().union(other.complement()).complement();
    }

    boolean contains(int c) {
        for (int i = 0; i < ranges.length; i += 2) {
            if (c >= ranges[i] && c <= ranges[i + 1]) {
                return true;
            }
        }
        return false;
    }

    boolean isEmpty() {
        return ranges.length == 0;
    }

    /** The ranges as pairs; callers must not modify the array. */
    int[] ranges() {
        return ranges;
    }

    private static CodePointSet withoutSurrogates(int[] r) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < r.length; i += 2) {
            int lo = r[i];
            int hi = r[i + 1];
            if (lo < 0xD800 && hi >= 0xD800) {
                out.add(lo);
                out.add(0xD7FF);
            } else if (lo < 0xD800 || lo > 0xDFFF) {
                out.add(lo);
                out.add(hi);
                continue;
            }
            if (hi > 0xDFFF) {
                out.add(Math.max(lo, 0xE000));
                out.add(hi);
            }
        }
        return new CodePointSet(out.stream().mapToInt(Integer::intValue).toArray());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CodePointSet s && Arrays.equals(ranges, s.ranges);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(ranges);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < ranges.length; i += 2) {
            b.append(String.format("%X-%X ", ranges[i], ranges[i + 1]));
        }
        return b.append(']').toString();
    }
}
