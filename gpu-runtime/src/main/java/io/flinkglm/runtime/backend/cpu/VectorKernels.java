package io.flinkglm.runtime.backend.cpu;

import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.Matrix;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels. Loaded by name from {@link Kernels} only when the incubator module is
 * present, so the rest of the runtime never links against it.
 *
 * <p>bf16 rows are widened without a lane conversion: 2L bf16 values are loaded as L ints; the low
 * half shifted up is the even column's f32, the high half masked is the odd column's (bf16 is the
 * top half of f32). The activations are permuted once per product to match (evens, then odds, per
 * 2L columns), which costs O(tokens * cols) against the matrix's O(rows * cols).
 *
 * <p>Up to four tokens share each weight load; each keeps its own accumulators, so a token's result
 * is the same in a group of four as alone. Two accumulators per token (even and odd columns) halve
 * the fma dependency chain, which at batch 1 would otherwise cap one core below memory speed.
 */
final class VectorKernels extends Kernels {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, F.vectorShape());
    private static final int L = F.length();

    @Override
    public int width() {
        return L;
    }

    /** Columns handled by vector loads; the rest run scalar in natural order. */
    private static int vectorCols(Matrix w) {
        int chunk = w.isBf16() ? 2 * L : L;
        return w.cols - w.cols % chunk;
    }

    @Override
    public float[] prepare(Matrix w, float[] x, int tokens) {
        if (!w.isBf16()) {
            return x;
        }
        int cols = w.cols;
        int full = vectorCols(w);
        float[] p = new float[tokens * cols];
        for (int t = 0; t < tokens; t++) {
            int o = t * cols;
            for (int c = 0; c < full; c += 2 * L) {
                for (int i = 0; i < L; i++) {
                    p[o + c + i] = x[o + c + 2 * i];
                    p[o + c + L + i] = x[o + c + 2 * i + 1];
                }
            }
            System.arraycopy(x, o + full, p, o + full, cols - full);
        }
        return p;
    }

    /**
     * Rows (in pairs) outside, groups of four tokens inside: a row pair is loaded from memory once
     * and stays in L1 while every token group passes it; the groups' activations come from L2. On
     * this machine's Xeon a 16-token step of the 0.5 B model runs the matrices at 40-60 GFLOPS per
     * core (about the same with the loops the other way round); one token streams at memory speed.
     */
    @Override
    public void matmulRows(Matrix w, float[] x, int tokens, float[] out, int r0, int r1) {
        int groups = tokens / 4 * 4;
        int r = r0;
        if (w.isBf16()) {
            for (; r + 2 <= r1; r += 2) {
                for (int t = 0; t < groups; t += 4) {
                    bf16Rows2Tokens4(w, r, x, t, out);
                }
            }
        }
        for (; r < r1; r++) {
            for (int t = 0; t < groups; t += 4) {
                if (w.isBf16()) {
                    bf16Row4(w, r, x, t, out);
                } else {
                    f32Row4(w, r, x, t, out);
                }
            }
        }
        for (int t = groups; t < tokens; t++) {
            for (r = r0; r < r1; r++) {
                out[t * w.rows + r] = w.isBf16() ? bf16Row1(w, r, x, t) : f32Row1(w, r, x, t);
            }
        }
    }

    private static float bf16Row1(Matrix w, int r, float[] x, int t) {
        int cols = w.cols;
        int full = vectorCols(w);
        int base = r * cols;
        int xo = t * cols;
        FloatVector accEven = FloatVector.zero(F);
        FloatVector accOdd = FloatVector.zero(F);
        for (int c = 0; c < full; c += 2 * L) {
            IntVector wi = ShortVector.fromArray(S, w.bf16, base + c).reinterpretAsInts();
            accEven = even(wi).fma(FloatVector.fromArray(F, x, xo + c), accEven);
            accOdd = odd(wi).fma(FloatVector.fromArray(F, x, xo + c + L), accOdd);
        }
        return accEven.add(accOdd).reduceLanes(VectorOperators.ADD) + bf16Tail(w, base, x, xo, full);
    }

    /** The even columns of 2L bf16 values loaded as L ints: the low halves, moved up to f32 position. */
    private static FloatVector even(IntVector wi) {
        return wi.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** The odd columns: the high halves, already in f32 position once the low half is cleared. */
    private static FloatVector odd(IntVector wi) {
        return wi.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats();
    }

    /**
     * Four tokens per weight load. Each token keeps an even and an odd accumulator, updated in the
     * same order as {@link #bf16Row1}, so its result is bit-identical to computing it alone.
     */
    private static void bf16Row4(Matrix w, int r, float[] x, int t, float[] out) {
        int cols = w.cols;
        int full = vectorCols(w);
        int base = r * cols;
        int x0 = t * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        FloatVector e0 = FloatVector.zero(F);
        FloatVector o0 = FloatVector.zero(F);
        FloatVector e1 = FloatVector.zero(F);
        FloatVector o1 = FloatVector.zero(F);
        FloatVector e2 = FloatVector.zero(F);
        FloatVector o2 = FloatVector.zero(F);
        FloatVector e3 = FloatVector.zero(F);
        FloatVector o3 = FloatVector.zero(F);
        for (int c = 0; c < full; c += 2 * L) {
            IntVector wi = ShortVector.fromArray(S, w.bf16, base + c).reinterpretAsInts();
            FloatVector even = even(wi);
            FloatVector odd = odd(wi);
            e0 = even.fma(FloatVector.fromArray(F, x, x0 + c), e0);
            o0 = odd.fma(FloatVector.fromArray(F, x, x0 + c + L), o0);
            e1 = even.fma(FloatVector.fromArray(F, x, x1 + c), e1);
            o1 = odd.fma(FloatVector.fromArray(F, x, x1 + c + L), o1);
            e2 = even.fma(FloatVector.fromArray(F, x, x2 + c), e2);
            o2 = odd.fma(FloatVector.fromArray(F, x, x2 + c + L), o2);
            e3 = even.fma(FloatVector.fromArray(F, x, x3 + c), e3);
            o3 = odd.fma(FloatVector.fromArray(F, x, x3 + c + L), o3);
        }
        int rows = w.rows;
        out[t * rows + r] = e0.add(o0).reduceLanes(VectorOperators.ADD) + bf16Tail(w, base, x, x0, full);
        out[(t + 1) * rows + r] = e1.add(o1).reduceLanes(VectorOperators.ADD) + bf16Tail(w, base, x, x1, full);
        out[(t + 2) * rows + r] = e2.add(o2).reduceLanes(VectorOperators.ADD) + bf16Tail(w, base, x, x2, full);
        out[(t + 3) * rows + r] = e3.add(o3).reduceLanes(VectorOperators.ADD) + bf16Tail(w, base, x, x3, full);
    }

    /**
     * Two rows by four tokens: each activation load now serves two rows, which lifts the kernel from
     * about 45 to 70 GFLOPS per core (measured with AVX-512 on this machine's Xeon) for batched steps.
     * Every (row, token) pair keeps its own even/odd accumulators in {@link #bf16Row1}'s order.
     */
    private static void bf16Rows2Tokens4(Matrix w, int r, float[] x, int t, float[] out) {
        int cols = w.cols;
        int full = vectorCols(w);
        int b0 = r * cols;
        int b1 = b0 + cols;
        int x0 = t * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        FloatVector e00 = FloatVector.zero(F);
        FloatVector o00 = FloatVector.zero(F);
        FloatVector e01 = FloatVector.zero(F);
        FloatVector o01 = FloatVector.zero(F);
        FloatVector e02 = FloatVector.zero(F);
        FloatVector o02 = FloatVector.zero(F);
        FloatVector e03 = FloatVector.zero(F);
        FloatVector o03 = FloatVector.zero(F);
        FloatVector e10 = FloatVector.zero(F);
        FloatVector o10 = FloatVector.zero(F);
        FloatVector e11 = FloatVector.zero(F);
        FloatVector o11 = FloatVector.zero(F);
        FloatVector e12 = FloatVector.zero(F);
        FloatVector o12 = FloatVector.zero(F);
        FloatVector e13 = FloatVector.zero(F);
        FloatVector o13 = FloatVector.zero(F);
        for (int c = 0; c < full; c += 2 * L) {
            IntVector w0 = ShortVector.fromArray(S, w.bf16, b0 + c).reinterpretAsInts();
            IntVector w1 = ShortVector.fromArray(S, w.bf16, b1 + c).reinterpretAsInts();
            FloatVector even0 = even(w0);
            FloatVector odd0 = odd(w0);
            FloatVector even1 = even(w1);
            FloatVector odd1 = odd(w1);
            FloatVector xe = FloatVector.fromArray(F, x, x0 + c);
            FloatVector xo = FloatVector.fromArray(F, x, x0 + c + L);
            e00 = even0.fma(xe, e00);
            o00 = odd0.fma(xo, o00);
            e10 = even1.fma(xe, e10);
            o10 = odd1.fma(xo, o10);
            xe = FloatVector.fromArray(F, x, x1 + c);
            xo = FloatVector.fromArray(F, x, x1 + c + L);
            e01 = even0.fma(xe, e01);
            o01 = odd0.fma(xo, o01);
            e11 = even1.fma(xe, e11);
            o11 = odd1.fma(xo, o11);
            xe = FloatVector.fromArray(F, x, x2 + c);
            xo = FloatVector.fromArray(F, x, x2 + c + L);
            e02 = even0.fma(xe, e02);
            o02 = odd0.fma(xo, o02);
            e12 = even1.fma(xe, e12);
            o12 = odd1.fma(xo, o12);
            xe = FloatVector.fromArray(F, x, x3 + c);
            xo = FloatVector.fromArray(F, x, x3 + c + L);
            e03 = even0.fma(xe, e03);
            o03 = odd0.fma(xo, o03);
            e13 = even1.fma(xe, e13);
            o13 = odd1.fma(xo, o13);
        }
        int rows = w.rows;
        out[t * rows + r] = e00.add(o00).reduceLanes(VectorOperators.ADD) + bf16Tail(w, b0, x, x0, full);
        out[(t + 1) * rows + r] = e01.add(o01).reduceLanes(VectorOperators.ADD) + bf16Tail(w, b0, x, x1, full);
        out[(t + 2) * rows + r] = e02.add(o02).reduceLanes(VectorOperators.ADD) + bf16Tail(w, b0, x, x2, full);
        out[(t + 3) * rows + r] = e03.add(o03).reduceLanes(VectorOperators.ADD) + bf16Tail(w, b0, x, x3, full);
        out[t * rows + r + 1] = e10.add(o10).reduceLanes(VectorOperators.ADD) + bf16Tail(w, b1, x, x0, full);
        out[(t + 1) * rows + r + 1] = e11.add(o11).reduceLanes(VectorOperators.ADD) + bf16Tail(w, b1, x, x1, full);
        out[(t + 2) * rows + r + 1] = e12.add(o12).reduceLanes(VectorOperators.ADD) + bf16Tail(w, b1, x, x2, full);
        out[(t + 3) * rows + r + 1] = e13.add(o13).reduceLanes(VectorOperators.ADD) + bf16Tail(w, b1, x, x3, full);
    }

    private static float bf16Tail(Matrix w, int base, float[] x, int xo, int from) {
        float sum = 0f;
        for (int c = from; c < w.cols; c++) {
            sum += DType.bf16ToFloat(w.bf16[base + c]) * x[xo + c];
        }
        return sum;
    }

    private static float f32Row1(Matrix w, int r, float[] x, int t) {
        int cols = w.cols;
        int full = vectorCols(w);
        int base = r * cols;
        int xo = t * cols;
        FloatVector acc = FloatVector.zero(F);
        for (int c = 0; c < full; c += L) {
            acc = FloatVector.fromArray(F, w.f32, base + c).fma(FloatVector.fromArray(F, x, xo + c), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD) + f32Tail(w, base, x, xo, full);
    }

    private static void f32Row4(Matrix w, int r, float[] x, int t, float[] out) {
        int cols = w.cols;
        int full = vectorCols(w);
        int base = r * cols;
        int x0 = t * cols;
        int x1 = x0 + cols;
        int x2 = x1 + cols;
        int x3 = x2 + cols;
        FloatVector a0 = FloatVector.zero(F);
        FloatVector a1 = FloatVector.zero(F);
        FloatVector a2 = FloatVector.zero(F);
        FloatVector a3 = FloatVector.zero(F);
        for (int c = 0; c < full; c += L) {
            FloatVector wv = FloatVector.fromArray(F, w.f32, base + c);
            a0 = wv.fma(FloatVector.fromArray(F, x, x0 + c), a0);
            a1 = wv.fma(FloatVector.fromArray(F, x, x1 + c), a1);
            a2 = wv.fma(FloatVector.fromArray(F, x, x2 + c), a2);
            a3 = wv.fma(FloatVector.fromArray(F, x, x3 + c), a3);
        }
        int rows = w.rows;
        out[t * rows + r] = a0.reduceLanes(VectorOperators.ADD) + f32Tail(w, base, x, x0, full);
        out[(t + 1) * rows + r] = a1.reduceLanes(VectorOperators.ADD) + f32Tail(w, base, x, x1, full);
        out[(t + 2) * rows + r] = a2.reduceLanes(VectorOperators.ADD) + f32Tail(w, base, x, x2, full);
        out[(t + 3) * rows + r] = a3.reduceLanes(VectorOperators.ADD) + f32Tail(w, base, x, x3, full);
    }

    private static float f32Tail(Matrix w, int base, float[] x, int xo, int from) {
        float sum = 0f;
        for (int c = from; c < w.cols; c++) {
            sum += w.f32[base + c] * x[xo + c];
        }
        return sum;
    }

    @Override
    public float dot(float[] a, int ao, float[] b, int bo, int n) {
        FloatVector acc = FloatVector.zero(F);
        int full = n - n % L;
        for (int i = 0; i < full; i += L) {
            acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, b, bo + i), acc);
        }
        float sum = acc.reduceLanes(VectorOperators.ADD);
        for (int i = full; i < n; i++) {
            sum += a[ao + i] * b[bo + i];
        }
        return sum;
    }

    @Override
    public void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        int full = n - n % L;
        FloatVector a = FloatVector.broadcast(F, alpha);
        for (int i = 0; i < full; i += L) {
            a.fma(FloatVector.fromArray(F, x, xo + i), FloatVector.fromArray(F, y, yo + i)).intoArray(y, yo + i);
        }
        for (int i = full; i < n; i++) {
            y[yo + i] += alpha * x[xo + i];
        }
    }
}
