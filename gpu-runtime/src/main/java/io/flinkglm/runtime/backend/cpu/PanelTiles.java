package io.flinkglm.runtime.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The register tiles of {@link VectorKernels}' matrix product, unrolled by hand because an array of
 * vectors would not stay in registers: two strips (rows {@code ra} and {@code rb} onwards, L rows
 * each) by 8, 4 or 1 tokens, over the words {@code [j0, j1)} of one K block.
 *
 * <p>Each (strip, token) accumulator starts from the partial sums in {@code out} (zero before the
 * first block) and goes back there, so a chain continues across blocks exactly as if unbroken:
 * {@code acc = fma(w[r][c], x[t][c], acc)} in column order, the even column of a bf16 word before
 * its odd one. Output (t, row ra + i) lives at {@code out[t * ostride + oa + i]}.
 *
 * <p>Eight tokens is as far as C2 goes: a 2 x 8 tile is 16 accumulators, half the AVX-512
 * registers, and its body is near the node budget up to which C2 inlines the Vector API calls of
 * one method; a 4 x 4 or 3 x 6 tile crossed it and ran ten times slower, boxed.
 */
final class PanelTiles {
    private static final VectorSpecies<Float> F = VectorKernels.F;
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, F.vectorShape());
    /** bf16 values from one word of a strip to the next: a panel's row of 16 words. */
    private static final int BF16_STEP = 2 * PanelMatrix.PANEL;

    private PanelTiles() {}

    /** The word index of row {@code r}'s first word; a strip steps from there by {@link PanelMatrix#PANEL}. */
    private static int firstWord(PanelMatrix w, int r) {
        return (r / PanelMatrix.PANEL) * PanelMatrix.PANEL * w.words + r % PanelMatrix.PANEL;
    }

    /** The even columns of L bf16 words loaded as ints: the low halves, moved up to f32 position. */
    private static FloatVector even(IntVector words) {
        return words.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** The odd columns: the high halves, already in f32 position once the low half is cleared. */
    private static FloatVector odd(IntVector words) {
        return words.lanewise(VectorOperators.AND, 0xFFFF0000).reinterpretAsFloats();
    }

    static void bf16Tokens8(PanelMatrix w, int ra, int rb, int j0, int j1, float[] x, int tokens, int t,
            float[] out, int ostride, int oa, int ob) {
        short[] m = w.bf16;
        int a = 2 * firstWord(w, ra);
        int b = 2 * firstWord(w, rb);
        FloatVector a0 = FloatVector.fromArray(F, out, t * ostride + oa);
        FloatVector b0 = FloatVector.fromArray(F, out, t * ostride + ob);
        FloatVector a1 = FloatVector.fromArray(F, out, (t + 1) * ostride + oa);
        FloatVector b1 = FloatVector.fromArray(F, out, (t + 1) * ostride + ob);
        FloatVector a2 = FloatVector.fromArray(F, out, (t + 2) * ostride + oa);
        FloatVector b2 = FloatVector.fromArray(F, out, (t + 2) * ostride + ob);
        FloatVector a3 = FloatVector.fromArray(F, out, (t + 3) * ostride + oa);
        FloatVector b3 = FloatVector.fromArray(F, out, (t + 3) * ostride + ob);
        FloatVector a4 = FloatVector.fromArray(F, out, (t + 4) * ostride + oa);
        FloatVector b4 = FloatVector.fromArray(F, out, (t + 4) * ostride + ob);
        FloatVector a5 = FloatVector.fromArray(F, out, (t + 5) * ostride + oa);
        FloatVector b5 = FloatVector.fromArray(F, out, (t + 5) * ostride + ob);
        FloatVector a6 = FloatVector.fromArray(F, out, (t + 6) * ostride + oa);
        FloatVector b6 = FloatVector.fromArray(F, out, (t + 6) * ostride + ob);
        FloatVector a7 = FloatVector.fromArray(F, out, (t + 7) * ostride + oa);
        FloatVector b7 = FloatVector.fromArray(F, out, (t + 7) * ostride + ob);
        for (int j = j0, k = j0 * 2 * tokens + t; j < j1; j++, k += 2 * tokens) {
            IntVector wa = ShortVector.fromArray(S, m, a + j * BF16_STEP).reinterpretAsInts();
            IntVector wb = ShortVector.fromArray(S, m, b + j * BF16_STEP).reinterpretAsInts();
            FloatVector ae = even(wa);
            FloatVector be = even(wb);
            FloatVector xe0 = FloatVector.broadcast(F, x[k]);
            a0 = ae.fma(xe0, a0);
            b0 = be.fma(xe0, b0);
            FloatVector xe1 = FloatVector.broadcast(F, x[k + 1]);
            a1 = ae.fma(xe1, a1);
            b1 = be.fma(xe1, b1);
            FloatVector xe2 = FloatVector.broadcast(F, x[k + 2]);
            a2 = ae.fma(xe2, a2);
            b2 = be.fma(xe2, b2);
            FloatVector xe3 = FloatVector.broadcast(F, x[k + 3]);
            a3 = ae.fma(xe3, a3);
            b3 = be.fma(xe3, b3);
            FloatVector xe4 = FloatVector.broadcast(F, x[k + 4]);
            a4 = ae.fma(xe4, a4);
            b4 = be.fma(xe4, b4);
            FloatVector xe5 = FloatVector.broadcast(F, x[k + 5]);
            a5 = ae.fma(xe5, a5);
            b5 = be.fma(xe5, b5);
            FloatVector xe6 = FloatVector.broadcast(F, x[k + 6]);
            a6 = ae.fma(xe6, a6);
            b6 = be.fma(xe6, b6);
            FloatVector xe7 = FloatVector.broadcast(F, x[k + 7]);
            a7 = ae.fma(xe7, a7);
            b7 = be.fma(xe7, b7);
            FloatVector ao = odd(wa);
            FloatVector bo = odd(wb);
            FloatVector xo0 = FloatVector.broadcast(F, x[k + tokens]);
            a0 = ao.fma(xo0, a0);
            b0 = bo.fma(xo0, b0);
            FloatVector xo1 = FloatVector.broadcast(F, x[k + tokens + 1]);
            a1 = ao.fma(xo1, a1);
            b1 = bo.fma(xo1, b1);
            FloatVector xo2 = FloatVector.broadcast(F, x[k + tokens + 2]);
            a2 = ao.fma(xo2, a2);
            b2 = bo.fma(xo2, b2);
            FloatVector xo3 = FloatVector.broadcast(F, x[k + tokens + 3]);
            a3 = ao.fma(xo3, a3);
            b3 = bo.fma(xo3, b3);
            FloatVector xo4 = FloatVector.broadcast(F, x[k + tokens + 4]);
            a4 = ao.fma(xo4, a4);
            b4 = bo.fma(xo4, b4);
            FloatVector xo5 = FloatVector.broadcast(F, x[k + tokens + 5]);
            a5 = ao.fma(xo5, a5);
            b5 = bo.fma(xo5, b5);
            FloatVector xo6 = FloatVector.broadcast(F, x[k + tokens + 6]);
            a6 = ao.fma(xo6, a6);
            b6 = bo.fma(xo6, b6);
            FloatVector xo7 = FloatVector.broadcast(F, x[k + tokens + 7]);
            a7 = ao.fma(xo7, a7);
            b7 = bo.fma(xo7, b7);
        }
        a0.intoArray(out, t * ostride + oa);
        b0.intoArray(out, t * ostride + ob);
        a1.intoArray(out, (t + 1) * ostride + oa);
        b1.intoArray(out, (t + 1) * ostride + ob);
        a2.intoArray(out, (t + 2) * ostride + oa);
        b2.intoArray(out, (t + 2) * ostride + ob);
        a3.intoArray(out, (t + 3) * ostride + oa);
        b3.intoArray(out, (t + 3) * ostride + ob);
        a4.intoArray(out, (t + 4) * ostride + oa);
        b4.intoArray(out, (t + 4) * ostride + ob);
        a5.intoArray(out, (t + 5) * ostride + oa);
        b5.intoArray(out, (t + 5) * ostride + ob);
        a6.intoArray(out, (t + 6) * ostride + oa);
        b6.intoArray(out, (t + 6) * ostride + ob);
        a7.intoArray(out, (t + 7) * ostride + oa);
        b7.intoArray(out, (t + 7) * ostride + ob);
    }

    static void bf16Tokens4(PanelMatrix w, int ra, int rb, int j0, int j1, float[] x, int tokens, int t,
            float[] out, int ostride, int oa, int ob) {
        short[] m = w.bf16;
        int a = 2 * firstWord(w, ra);
        int b = 2 * firstWord(w, rb);
        FloatVector a0 = FloatVector.fromArray(F, out, t * ostride + oa);
        FloatVector b0 = FloatVector.fromArray(F, out, t * ostride + ob);
        FloatVector a1 = FloatVector.fromArray(F, out, (t + 1) * ostride + oa);
        FloatVector b1 = FloatVector.fromArray(F, out, (t + 1) * ostride + ob);
        FloatVector a2 = FloatVector.fromArray(F, out, (t + 2) * ostride + oa);
        FloatVector b2 = FloatVector.fromArray(F, out, (t + 2) * ostride + ob);
        FloatVector a3 = FloatVector.fromArray(F, out, (t + 3) * ostride + oa);
        FloatVector b3 = FloatVector.fromArray(F, out, (t + 3) * ostride + ob);
        for (int j = j0, k = j0 * 2 * tokens + t; j < j1; j++, k += 2 * tokens) {
            IntVector wa = ShortVector.fromArray(S, m, a + j * BF16_STEP).reinterpretAsInts();
            IntVector wb = ShortVector.fromArray(S, m, b + j * BF16_STEP).reinterpretAsInts();
            FloatVector ae = even(wa);
            FloatVector be = even(wb);
            FloatVector xe0 = FloatVector.broadcast(F, x[k]);
            a0 = ae.fma(xe0, a0);
            b0 = be.fma(xe0, b0);
            FloatVector xe1 = FloatVector.broadcast(F, x[k + 1]);
            a1 = ae.fma(xe1, a1);
            b1 = be.fma(xe1, b1);
            FloatVector xe2 = FloatVector.broadcast(F, x[k + 2]);
            a2 = ae.fma(xe2, a2);
            b2 = be.fma(xe2, b2);
            FloatVector xe3 = FloatVector.broadcast(F, x[k + 3]);
            a3 = ae.fma(xe3, a3);
            b3 = be.fma(xe3, b3);
            FloatVector ao = odd(wa);
            FloatVector bo = odd(wb);
            FloatVector xo0 = FloatVector.broadcast(F, x[k + tokens]);
            a0 = ao.fma(xo0, a0);
            b0 = bo.fma(xo0, b0);
            FloatVector xo1 = FloatVector.broadcast(F, x[k + tokens + 1]);
            a1 = ao.fma(xo1, a1);
            b1 = bo.fma(xo1, b1);
            FloatVector xo2 = FloatVector.broadcast(F, x[k + tokens + 2]);
            a2 = ao.fma(xo2, a2);
            b2 = bo.fma(xo2, b2);
            FloatVector xo3 = FloatVector.broadcast(F, x[k + tokens + 3]);
            a3 = ao.fma(xo3, a3);
            b3 = bo.fma(xo3, b3);
        }
        a0.intoArray(out, t * ostride + oa);
        b0.intoArray(out, t * ostride + ob);
        a1.intoArray(out, (t + 1) * ostride + oa);
        b1.intoArray(out, (t + 1) * ostride + ob);
        a2.intoArray(out, (t + 2) * ostride + oa);
        b2.intoArray(out, (t + 2) * ostride + ob);
        a3.intoArray(out, (t + 3) * ostride + oa);
        b3.intoArray(out, (t + 3) * ostride + ob);
    }

    static void bf16Tokens1(PanelMatrix w, int ra, int rb, int j0, int j1, float[] x, int tokens, int t,
            float[] out, int ostride, int oa, int ob) {
        short[] m = w.bf16;
        int a = 2 * firstWord(w, ra);
        int b = 2 * firstWord(w, rb);
        FloatVector a0 = FloatVector.fromArray(F, out, t * ostride + oa);
        FloatVector b0 = FloatVector.fromArray(F, out, t * ostride + ob);
        for (int j = j0, k = j0 * 2 * tokens + t; j < j1; j++, k += 2 * tokens) {
            IntVector wa = ShortVector.fromArray(S, m, a + j * BF16_STEP).reinterpretAsInts();
            IntVector wb = ShortVector.fromArray(S, m, b + j * BF16_STEP).reinterpretAsInts();
            FloatVector ae = even(wa);
            FloatVector be = even(wb);
            FloatVector xe0 = FloatVector.broadcast(F, x[k]);
            a0 = ae.fma(xe0, a0);
            b0 = be.fma(xe0, b0);
            FloatVector ao = odd(wa);
            FloatVector bo = odd(wb);
            FloatVector xo0 = FloatVector.broadcast(F, x[k + tokens]);
            a0 = ao.fma(xo0, a0);
            b0 = bo.fma(xo0, b0);
        }
        a0.intoArray(out, t * ostride + oa);
        b0.intoArray(out, t * ostride + ob);
    }

    static void f32Tokens8(PanelMatrix w, int ra, int rb, int j0, int j1, float[] x, int tokens, int t,
            float[] out, int ostride, int oa, int ob) {
        float[] m = w.f32;
        int a = firstWord(w, ra);
        int b = firstWord(w, rb);
        FloatVector a0 = FloatVector.fromArray(F, out, t * ostride + oa);
        FloatVector b0 = FloatVector.fromArray(F, out, t * ostride + ob);
        FloatVector a1 = FloatVector.fromArray(F, out, (t + 1) * ostride + oa);
        FloatVector b1 = FloatVector.fromArray(F, out, (t + 1) * ostride + ob);
        FloatVector a2 = FloatVector.fromArray(F, out, (t + 2) * ostride + oa);
        FloatVector b2 = FloatVector.fromArray(F, out, (t + 2) * ostride + ob);
        FloatVector a3 = FloatVector.fromArray(F, out, (t + 3) * ostride + oa);
        FloatVector b3 = FloatVector.fromArray(F, out, (t + 3) * ostride + ob);
        FloatVector a4 = FloatVector.fromArray(F, out, (t + 4) * ostride + oa);
        FloatVector b4 = FloatVector.fromArray(F, out, (t + 4) * ostride + ob);
        FloatVector a5 = FloatVector.fromArray(F, out, (t + 5) * ostride + oa);
        FloatVector b5 = FloatVector.fromArray(F, out, (t + 5) * ostride + ob);
        FloatVector a6 = FloatVector.fromArray(F, out, (t + 6) * ostride + oa);
        FloatVector b6 = FloatVector.fromArray(F, out, (t + 6) * ostride + ob);
        FloatVector a7 = FloatVector.fromArray(F, out, (t + 7) * ostride + oa);
        FloatVector b7 = FloatVector.fromArray(F, out, (t + 7) * ostride + ob);
        for (int j = j0, k = j0 * tokens + t; j < j1; j++, k += tokens) {
            FloatVector wa = FloatVector.fromArray(F, m, a + j * PanelMatrix.PANEL);
            FloatVector wb = FloatVector.fromArray(F, m, b + j * PanelMatrix.PANEL);
            FloatVector x0 = FloatVector.broadcast(F, x[k]);
            a0 = wa.fma(x0, a0);
            b0 = wb.fma(x0, b0);
            FloatVector x1 = FloatVector.broadcast(F, x[k + 1]);
            a1 = wa.fma(x1, a1);
            b1 = wb.fma(x1, b1);
            FloatVector x2 = FloatVector.broadcast(F, x[k + 2]);
            a2 = wa.fma(x2, a2);
            b2 = wb.fma(x2, b2);
            FloatVector x3 = FloatVector.broadcast(F, x[k + 3]);
            a3 = wa.fma(x3, a3);
            b3 = wb.fma(x3, b3);
            FloatVector x4 = FloatVector.broadcast(F, x[k + 4]);
            a4 = wa.fma(x4, a4);
            b4 = wb.fma(x4, b4);
            FloatVector x5 = FloatVector.broadcast(F, x[k + 5]);
            a5 = wa.fma(x5, a5);
            b5 = wb.fma(x5, b5);
            FloatVector x6 = FloatVector.broadcast(F, x[k + 6]);
            a6 = wa.fma(x6, a6);
            b6 = wb.fma(x6, b6);
            FloatVector x7 = FloatVector.broadcast(F, x[k + 7]);
            a7 = wa.fma(x7, a7);
            b7 = wb.fma(x7, b7);
        }
        a0.intoArray(out, t * ostride + oa);
        b0.intoArray(out, t * ostride + ob);
        a1.intoArray(out, (t + 1) * ostride + oa);
        b1.intoArray(out, (t + 1) * ostride + ob);
        a2.intoArray(out, (t + 2) * ostride + oa);
        b2.intoArray(out, (t + 2) * ostride + ob);
        a3.intoArray(out, (t + 3) * ostride + oa);
        b3.intoArray(out, (t + 3) * ostride + ob);
        a4.intoArray(out, (t + 4) * ostride + oa);
        b4.intoArray(out, (t + 4) * ostride + ob);
        a5.intoArray(out, (t + 5) * ostride + oa);
        b5.intoArray(out, (t + 5) * ostride + ob);
        a6.intoArray(out, (t + 6) * ostride + oa);
        b6.intoArray(out, (t + 6) * ostride + ob);
        a7.intoArray(out, (t + 7) * ostride + oa);
        b7.intoArray(out, (t + 7) * ostride + ob);
    }

    static void f32Tokens4(PanelMatrix w, int ra, int rb, int j0, int j1, float[] x, int tokens, int t,
            float[] out, int ostride, int oa, int ob) {
        float[] m = w.f32;
        int a = firstWord(w, ra);
        int b = firstWord(w, rb);
        FloatVector a0 = FloatVector.fromArray(F, out, t * ostride + oa);
        FloatVector b0 = FloatVector.fromArray(F, out, t * ostride + ob);
        FloatVector a1 = FloatVector.fromArray(F, out, (t + 1) * ostride + oa);
        FloatVector b1 = FloatVector.fromArray(F, out, (t + 1) * ostride + ob);
        FloatVector a2 = FloatVector.fromArray(F, out, (t + 2) * ostride + oa);
        FloatVector b2 = FloatVector.fromArray(F, out, (t + 2) * ostride + ob);
        FloatVector a3 = FloatVector.fromArray(F, out, (t + 3) * ostride + oa);
        FloatVector b3 = FloatVector.fromArray(F, out, (t + 3) * ostride + ob);
        for (int j = j0, k = j0 * tokens + t; j < j1; j++, k += tokens) {
            FloatVector wa = FloatVector.fromArray(F, m, a + j * PanelMatrix.PANEL);
            FloatVector wb = FloatVector.fromArray(F, m, b + j * PanelMatrix.PANEL);
            FloatVector x0 = FloatVector.broadcast(F, x[k]);
            a0 = wa.fma(x0, a0);
            b0 = wb.fma(x0, b0);
            FloatVector x1 = FloatVector.broadcast(F, x[k + 1]);
            a1 = wa.fma(x1, a1);
            b1 = wb.fma(x1, b1);
            FloatVector x2 = FloatVector.broadcast(F, x[k + 2]);
            a2 = wa.fma(x2, a2);
            b2 = wb.fma(x2, b2);
            FloatVector x3 = FloatVector.broadcast(F, x[k + 3]);
            a3 = wa.fma(x3, a3);
            b3 = wb.fma(x3, b3);
        }
        a0.intoArray(out, t * ostride + oa);
        b0.intoArray(out, t * ostride + ob);
        a1.intoArray(out, (t + 1) * ostride + oa);
        b1.intoArray(out, (t + 1) * ostride + ob);
        a2.intoArray(out, (t + 2) * ostride + oa);
        b2.intoArray(out, (t + 2) * ostride + ob);
        a3.intoArray(out, (t + 3) * ostride + oa);
        b3.intoArray(out, (t + 3) * ostride + ob);
    }

    static void f32Tokens1(PanelMatrix w, int ra, int rb, int j0, int j1, float[] x, int tokens, int t,
            float[] out, int ostride, int oa, int ob) {
        float[] m = w.f32;
        int a = firstWord(w, ra);
        int b = firstWord(w, rb);
        FloatVector a0 = FloatVector.fromArray(F, out, t * ostride + oa);
        FloatVector b0 = FloatVector.fromArray(F, out, t * ostride + ob);
        for (int j = j0, k = j0 * tokens + t; j < j1; j++, k += tokens) {
            FloatVector wa = FloatVector.fromArray(F, m, a + j * PanelMatrix.PANEL);
            FloatVector wb = FloatVector.fromArray(F, m, b + j * PanelMatrix.PANEL);
            FloatVector x0 = FloatVector.broadcast(F, x[k]);
            a0 = wa.fma(x0, a0);
            b0 = wb.fma(x0, b0);
        }
        a0.intoArray(out, t * ostride + oa);
        b0.intoArray(out, t * ostride + ob);
    }
}
