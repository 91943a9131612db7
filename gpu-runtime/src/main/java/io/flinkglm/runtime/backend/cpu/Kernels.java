package io.flinkglm.runtime.backend.cpu;


import org.apache.flink.annotation.Internal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CPU's inner loops: matrix panels times activations, and attention's scores and weighted
 * values. Two
 * implementations compute the same math: {@link VectorKernels} (JDK Vector API) and its scalar
 * twin {@link ScalarKernels}; a test checks that their matrix products are bit-identical.
 *
 * <p>The choice is made once, at class initialisation: the widest SIMD the JVM offers when the
 * {@code jdk.incubator.vector} module is enabled, else scalar. {@code -Dflinkglm.simd=0} forces the
 * scalar path.
 *
 * <p>Batch invariance rests on the matrix product's summation order, which is fixed by the
 * weights alone: every output {@code out[t][r]} is one fused multiply-add chain over the inputs
 * in column order, {@code acc = fma(w[r][c], x[t][c], acc)} for c = 0, 1, 2, ... starting from 0.
 * How many tokens share a call, which tile a token lands in and the SIMD width change only how
 * many such chains run side by side, never the value of one.
 */
@Internal
public abstract class Kernels {
    private static final Logger LOG = LoggerFactory.getLogger(Kernels.class);

    /** The kernels this JVM uses, chosen once. */
    public static final Kernels BEST = choose();

    /** SIMD width in float lanes; 0 for the scalar kernels. */
    public abstract int width();

    /**
     * Tokens as a product lays them out: above one, rounded up to a multiple of 4, so that every
     * token runs in one of the vector kernels' 8- or 4-token tiles. A token left over for a 1-token
     * tile costs almost a full tile (the weights are loaded and widened for it alone): a 15-token
     * step of the 0.5B model took 119 ms against 92 ms for 16. The extra tokens' activations are
     * zeros and their outputs scratch; a real token's sums do not depend on them.
     */
    public static int paddedTokens(int tokens) {
        return tokens <= 1 ? tokens : (tokens + 3) & ~3;
    }

    /**
     * The activations as the panel loops read them: transposed to column-major
     * {@code [w.paddedCols()][paddedTokens(tokens)]}, so the tokens of a tile find their
     * activations for one column side by side (one cache line, one bounds check), padded with zero
     * tokens (see {@link #paddedTokens}) and with a zero column where an odd-width bf16 matrix
     * needs it. O(tokens * cols) against the product's O(rows * cols); called once per matrix
     * product, before the panels are split over the cores.
     */
    public final float[] prepare(PanelMatrix w, float[] x, int tokens) {
        return prepare(w, x, tokens, null);
    }

    /**
     * {@link #prepare(PanelMatrix, float[], int)} into {@code scratch} when it has room for
     * {@code w.paddedCols() * paddedTokens(tokens)} floats. A forward step reuses one buffer for
     * all its products: allocating (and so zeroing) a fresh one each time cost a 16-token step of
     * the 0.5B model about 2 ms, as much as the transposition itself.
     */
    public final float[] prepare(PanelMatrix w, float[] x, int tokens, float[] scratch) {
        return prepare(w, x, 0, tokens, scratch);
    }

    /** {@link #prepare(PanelMatrix, float[], int, float[])} of the tokens whose rows start at {@code x[from]}. */
    public final float[] prepare(PanelMatrix w, float[] x, int from, int tokens, float[] scratch) {
        int cols = w.cols;
        if (tokens == 1 && w.paddedCols() == cols && from == 0) {
            return x;
        }
        int stride = paddedTokens(tokens);
        int length = w.paddedCols() * stride;
        float[] p = scratch != null && scratch.length >= length ? scratch : new float[length];
        // Written in order, read from one sequential stream per token: the other way round, every
        // write lands on a new cache line, three times slower.
        int i = 0;
        for (int c = 0; c < cols; c++) {
            for (int t = 0; t < tokens; t++) {
                p[i++] = x[from + t * cols + c];
            }
            for (int t = tokens; t < stride; t++) {
                p[i++] = 0f;
            }
        }
        java.util.Arrays.fill(p, i, length, 0f); // the padding column, if any
        return p;
    }

    /**
     * {@code out[t * w.rows + r] = dot(w[r], x[t])} for the rows of panels {@code [p0, p1)} and
     * every token, summed in the order the class comment fixes.
     *
     * @param x activations as {@link #prepare} returns them
     * @param out room for {@code paddedTokens(tokens) * w.rows} floats: the padding tokens' rows
     *            are scratch
     */
    public abstract void matmulPanels(PanelMatrix w, float[] x, int tokens, float[] out, int p0, int p1);

    /** {@code sum a[ao + i] * b[bo + i]} for i < n. */
    public abstract float dot(float[] a, int ao, float[] b, int bo, int n);

    /**
     * Attention scores of {@code heads} query heads against every slot of one KV block whose keys
     * are stored transposed ({@link CpuKvCache}: {@code kT[ko + d * bs + s]} is dimension d of
     * slot s): {@code scores[so + h * sstride + s] = scale * sum_d q[qo + h * hd + d] * kT[...]}
     * for s < bs. Each sum is one fma chain in dimension order from zero, then one multiply by
     * {@code scale}, so a score does not depend on the block's other slots or on the SIMD width.
     * Slots past a block's last written position hold stale keys: the caller ignores their scores.
     */
    public abstract void blockScores(float[] q, int qo, int heads, int hd, float[] kT, int ko, int bs, float scale,
                                     float[] scores, int so, int sstride);

    /**
     * Attention's weighted sum of values: {@code out[oo + h * hd + d] = sum_p probs[po + h * pstride + p]
     * * v[rows[p] + d]} for p < positions, one fma chain per output in position order from zero.
     *
     * @param rows offset of each position's value vector (for this KV head) in {@code v}
     */
    public abstract void weightedValues(float[] probs, int po, int pstride, int heads, int positions,
                                        float[] v, int[] rows, int hd, float[] out, int oo);

    /** {@link #blockScores} one score at a time: the scalar kernels' version and the vector kernels' fallback. */
    static void blockScoresScalar(float[] q, int qo, int heads, int hd, float[] kT, int ko, int bs, float scale,
                                  float[] scores, int so, int sstride) {
        for (int h = 0; h < heads; h++) {
            for (int s = 0; s < bs; s++) {
                float acc = 0f;
                for (int d = 0; d < hd; d++) {
                    acc = Math.fma(kT[ko + d * bs + s], q[qo + h * hd + d], acc);
                }
                scores[so + h * sstride + s] = acc * scale;
            }
        }
    }

    /** One output of {@link #weightedValues}: head h's dimension d. */
    static float weightedValue(float[] probs, int ph, int positions, float[] v, int[] rows, int d) {
        float acc = 0f;
        for (int p = 0; p < positions; p++) {
            acc = Math.fma(v[rows[p] + d], probs[ph + p], acc);
        }
        return acc;
    }

    /**
     * {@code x[o + i] = exp(x[o + i] - shift)} for i < n, with {@link FloatExp}'s exp: the same
     * bits in either implementation, for any n and offset.
     */
    public abstract void expShifted(float[] x, int o, int n, float shift);

    /**
     * SwiGLU's product, {@code out[oo + i] = up[uo + i] * silu(gate[go + i])} for i < n, with
     * {@link FloatExp#silu}: the same bits in either implementation.
     */
    public abstract void swiglu(float[] gate, int go, float[] up, int uo, float[] out, int oo, int n);

    private static Kernels choose() {
        int requested = Integer.getInteger("flinkglm.simd", -1);
        boolean vectorModule = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        Kernels k;
        if (requested == 0 || !vectorModule) {
            k = new ScalarKernels();
        } else {
            try {
                k = (Kernels) Class.forName("io.flinkglm.runtime.backend.cpu.VectorKernels")
                        .getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError e) {
                LOG.warn("Vector API unavailable (" + e + "); using scalar kernels");
                k = new ScalarKernels();
            }
        }
        LOG.debug("CPU kernels: " + (k.width() == 0 ? "scalar" : k.width() + " float lanes")
                + (vectorModule ? "" : " (start the JVM with --add-modules jdk.incubator.vector for SIMD)"));
        return k;
    }
}
