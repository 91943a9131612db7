package io.flinkglm.runtime.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels. Loaded by name from {@link Kernels} only when the incubator module is
 * present, so the rest of the runtime never links against it.
 *
 * <p>The matrix product is an outer product over {@link PanelMatrix}'s panels. A <em>strip</em> is L
 * consecutive rows of a panel (the whole panel at L = 16); one vector load reads a strip at one
 * weight word, and every token of a tile multiplies it by its own broadcast activation into its
 * own accumulator, lane i holding row i's chain. So a weight is loaded and widened once per tile
 * of tokens, there are no horizontal sums, and each output's chain runs in column order whatever
 * the tile (see {@link Kernels}). bf16 words are widened without a lane conversion (see
 * {@link PanelTiles}).
 *
 * <p>Tiles are two strips by 8, 4 or 1 tokens ({@link PanelTiles}); the 1-token tile serves only
 * single-token products, since {@link Kernels#paddedTokens} rounds every other count up to 4s. On this machine's AVX-512 Xeon
 * the 2 x 8 bf16 tile runs at 150-170 GFLOPS per core from L1 (about 70% of the fma peak); one
 * token still has two independent chains, enough to stream the weights at memory speed.
 */
final class VectorKernels extends Kernels {
    /** The preferred species, at most a panel wide so that strips divide panels. */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() <= PanelMatrix.PANEL
            ? FloatVector.SPECIES_PREFERRED : FloatVector.SPECIES_512;
    private static final int L = F.length();
    /**
     * Words per K block when more than one token tile passes over the weights. A strip pair's
     * block (2 x 16 rows x 128 words x 4 bytes = 16 KB) then stays in L1 from the tile that loads
     * it to the next; measured about 3% faster than whole rows for a 16-token step of the 0.5B
     * model, and no gain at 64 or 256. With one tile there is nothing to reuse, so rows stay whole.
     */
    private static final int K_BLOCK = 128;

    @Override
    public int width() {
        return L;
    }

    @Override
    public void matmulPanels(PanelMatrix w, float[] x, int tokens, float[] out, int p0, int p1) {
        int s0 = p0 * PanelMatrix.PANEL / L;
        int s1 = Math.min(p1 * PanelMatrix.PANEL / L, (w.rows + L - 1) / L);
        int whole = Math.min(s1, w.rows / L);
        strips(w, x, tokens, out, w.rows, 0, s0, whole);
        if (whole < s1) {
            // The matrix's last strip reaches into padding rows: compute it aside, keep the real rows.
            int r = whole * L;
            float[] aside = new float[paddedTokens(tokens) * L];
            strips(w, x, tokens, aside, L, r, whole, s1);
            for (int t = 0; t < tokens; t++) {
                System.arraycopy(aside, t * L, out, t * w.rows + r, w.rows - r);
            }
        }
    }

    /**
     * Strips {@code [s0, s1)} in pairs, K blocks inside, token tiles innermost. Output (t, r) goes
     * to {@code out[t * ostride + r - oshift]}, which starts at zero and carries the partial sums
     * from block to block.
     */
    private static void strips(PanelMatrix w, float[] x, int tokens, float[] out, int ostride, int oshift, int s0, int s1) {
        int rowEnd = Math.min(s1 * L, w.rows);
        int block = tokens > 8 ? K_BLOCK : w.words;
        int stride = paddedTokens(tokens); // a multiple of 4 above one: 8- and 4-token tiles only
        for (int t = 0; t < stride; t++) {
            java.util.Arrays.fill(out, t * ostride + s0 * L - oshift, t * ostride + rowEnd - oshift, 0f);
        }
        for (int s = s0; s < s1; s += 2) {
            int ra = s * L;
            int rb = Math.min(s + 1, s1 - 1) * L; // an odd strip out runs as a pair with itself
            for (int j0 = 0; j0 < w.words; j0 += block) {
                int j1 = Math.min(w.words, j0 + block);
                int t = 0;
                if (w.isBf16()) {
                    for (; t + 8 <= stride; t += 8) {
                        PanelTiles.bf16Tokens8(w, ra, rb, j0, j1, x, stride, t, out, ostride, ra - oshift, rb - oshift);
                    }
                    for (; t + 4 <= stride; t += 4) {
                        PanelTiles.bf16Tokens4(w, ra, rb, j0, j1, x, stride, t, out, ostride, ra - oshift, rb - oshift);
                    }
                    for (; t < stride; t++) {
                        PanelTiles.bf16Tokens1(w, ra, rb, j0, j1, x, stride, t, out, ostride, ra - oshift, rb - oshift);
                    }
                } else {
                    for (; t + 8 <= stride; t += 8) {
                        PanelTiles.f32Tokens8(w, ra, rb, j0, j1, x, stride, t, out, ostride, ra - oshift, rb - oshift);
                    }
                    for (; t + 4 <= stride; t += 4) {
                        PanelTiles.f32Tokens4(w, ra, rb, j0, j1, x, stride, t, out, ostride, ra - oshift, rb - oshift);
                    }
                    for (; t < stride; t++) {
                        PanelTiles.f32Tokens1(w, ra, rb, j0, j1, x, stride, t, out, ostride, ra - oshift, rb - oshift);
                    }
                }
            }
        }
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

    /**
     * Lanes are slots: one vector load reads dimension d of L consecutive slots, and four query
     * heads (then two, then one) each multiply it by their own broadcast q[d] into their own
     * accumulator, so the chains run side by side with no horizontal sum (a float reduceLanes is a
     * serial chain).
     */
    @Override
    public void blockScores(float[] q, int qo, int heads, int hd, float[] kT, int ko, int bs, float scale,
                            float[] scores, int so, int sstride) {
        if (bs % L != 0) {
            blockScoresScalar(q, qo, heads, hd, kT, ko, bs, scale, scores, so, sstride);
            return;
        }
        for (int s = 0; s < bs; s += L) {
            int h = 0;
            for (; h + 4 <= heads; h += 4) {
                int q0 = qo + h * hd;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                for (int d = 0; d < hd; d++) {
                    FloatVector k = FloatVector.fromArray(F, kT, ko + d * bs + s);
                    a0 = k.fma(FloatVector.broadcast(F, q[q0 + d]), a0);
                    a1 = k.fma(FloatVector.broadcast(F, q[q0 + hd + d]), a1);
                    a2 = k.fma(FloatVector.broadcast(F, q[q0 + 2 * hd + d]), a2);
                    a3 = k.fma(FloatVector.broadcast(F, q[q0 + 3 * hd + d]), a3);
                }
                int o = so + h * sstride + s;
                a0.mul(scale).intoArray(scores, o);
                a1.mul(scale).intoArray(scores, o + sstride);
                a2.mul(scale).intoArray(scores, o + 2 * sstride);
                a3.mul(scale).intoArray(scores, o + 3 * sstride);
            }
            if (h + 2 <= heads) {
                int q0 = qo + h * hd;
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                for (int d = 0; d < hd; d++) {
                    FloatVector k = FloatVector.fromArray(F, kT, ko + d * bs + s);
                    a0 = k.fma(FloatVector.broadcast(F, q[q0 + d]), a0);
                    a1 = k.fma(FloatVector.broadcast(F, q[q0 + hd + d]), a1);
                }
                int o = so + h * sstride + s;
                a0.mul(scale).intoArray(scores, o);
                a1.mul(scale).intoArray(scores, o + sstride);
                h += 2;
            }
            if (h < heads) {
                int qh = qo + h * hd;
                FloatVector a = FloatVector.zero(F);
                for (int d = 0; d < hd; d++) {
                    a = FloatVector.fromArray(F, kT, ko + d * bs + s).fma(FloatVector.broadcast(F, q[qh + d]), a);
                }
                a.mul(scale).intoArray(scores, so + h * sstride + s);
            }
        }
    }

    /**
     * Lanes are dimensions: each position's value vector is read L dimensions at a time and
     * multiplied by the position's broadcast weight, eight vectors (128 dimensions at L = 16) per
     * pass so that eight chains keep both fma units busy; narrower heads go a vector at a time.
     */
    @Override
    public void weightedValues(float[] probs, int po, int pstride, int heads, int positions,
                               float[] v, int[] rows, int hd, float[] out, int oo) {
        for (int h = 0; h < heads; h++) {
            int ph = po + h * pstride;
            int oh = oo + h * hd;
            int d = 0;
            for (; d + 8 * L <= hd; d += 8 * L) {
                FloatVector a0 = FloatVector.zero(F);
                FloatVector a1 = a0;
                FloatVector a2 = a0;
                FloatVector a3 = a0;
                FloatVector a4 = a0;
                FloatVector a5 = a0;
                FloatVector a6 = a0;
                FloatVector a7 = a0;
                for (int p = 0; p < positions; p++) {
                    FloatVector w = FloatVector.broadcast(F, probs[ph + p]);
                    int r = rows[p] + d;
                    a0 = FloatVector.fromArray(F, v, r).fma(w, a0);
                    a1 = FloatVector.fromArray(F, v, r + L).fma(w, a1);
                    a2 = FloatVector.fromArray(F, v, r + 2 * L).fma(w, a2);
                    a3 = FloatVector.fromArray(F, v, r + 3 * L).fma(w, a3);
                    a4 = FloatVector.fromArray(F, v, r + 4 * L).fma(w, a4);
                    a5 = FloatVector.fromArray(F, v, r + 5 * L).fma(w, a5);
                    a6 = FloatVector.fromArray(F, v, r + 6 * L).fma(w, a6);
                    a7 = FloatVector.fromArray(F, v, r + 7 * L).fma(w, a7);
                }
                a0.intoArray(out, oh + d);
                a1.intoArray(out, oh + d + L);
                a2.intoArray(out, oh + d + 2 * L);
                a3.intoArray(out, oh + d + 3 * L);
                a4.intoArray(out, oh + d + 4 * L);
                a5.intoArray(out, oh + d + 5 * L);
                a6.intoArray(out, oh + d + 6 * L);
                a7.intoArray(out, oh + d + 7 * L);
            }
            for (; d + L <= hd; d += L) {
                FloatVector a = FloatVector.zero(F);
                for (int p = 0; p < positions; p++) {
                    a = FloatVector.fromArray(F, v, rows[p] + d).fma(FloatVector.broadcast(F, probs[ph + p]), a);
                }
                a.intoArray(out, oh + d);
            }
            for (; d < hd; d++) {
                out[oh + d] = weightedValue(probs, ph, positions, v, rows, d);
            }
        }
    }

    @Override
    public void expShifted(float[] x, int o, int n, float shift) {
        int full = n - n % L;
        for (int i = 0; i < full; i += L) {
            exp(FloatVector.fromArray(F, x, o + i).sub(shift)).intoArray(x, o + i);
        }
        for (int i = full; i < n; i++) {
            x[o + i] = FloatExp.exp(x[o + i] - shift);
        }
    }

    @Override
    public void swiglu(float[] gate, int go, float[] up, int uo, float[] out, int oo, int n) {
        int full = n - n % L;
        for (int i = 0; i < full; i += L) {
            FloatVector g = FloatVector.fromArray(F, gate, go + i);
            FloatVector silu = g.div(exp(g.neg()).add(1f));
            FloatVector.fromArray(F, up, uo + i).mul(silu).intoArray(out, oo + i);
        }
        for (int i = full; i < n; i++) {
            out[oo + i] = up[uo + i] * FloatExp.silu(gate[go + i]);
        }
    }

    /** {@link FloatExp#exp} lane by lane, operation for operation. */
    private static FloatVector exp(FloatVector x) {
        x = x.max(FloatExp.LO).min(FloatExp.HI);
        FloatVector shifted = x.fma(FloatExp.LOG2E, FloatExp.ROUND);
        FloatVector n = shifted.sub(FloatExp.ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(F, FloatExp.MINUS_LN2_HI), x);
        r = n.fma(FloatVector.broadcast(F, FloatExp.MINUS_LN2_LO), r);
        FloatVector p = r.fma(FloatExp.P0, FloatExp.P1);
        p = p.fma(r, FloatVector.broadcast(F, FloatExp.P2));
        p = p.fma(r, FloatVector.broadcast(F, FloatExp.P3));
        p = p.fma(r, FloatVector.broadcast(F, FloatExp.P4));
        p = p.fma(r, FloatVector.broadcast(F, FloatExp.P5));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        IntVector scale = shifted.reinterpretAsInts().add(FloatExp.EXPONENT_FROM_ROUNDED).lanewise(VectorOperators.LSHL, 23);
        return y.mul(scale.reinterpretAsFloats());
    }
}
