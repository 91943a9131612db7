package io.flinkglm.runtime.backend.cpu;

import io.flinkglm.runtime.model.Matrix;

import java.util.logging.Logger;

/**
 * The CPU's inner loops: matrix panels times activations, and the dot/axpy of attention. Two
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
public abstract class Kernels {
    private static final Logger LOG = Logger.getLogger(Kernels.class.getName());

    /** The kernels this JVM uses, chosen once. */
    public static final Kernels BEST = choose();

    /** SIMD width in float lanes; 0 for the scalar kernels. */
    public abstract int width();

    /**
     * The activations as the panel loops read them: transposed to column-major
     * {@code [w.paddedCols()][tokens]}, so the tokens of a tile find their activations for one
     * column side by side (one cache line, one bounds check), and padded with a zero column where
     * an odd-width bf16 matrix needs it. O(tokens * cols) against the product's O(rows * cols);
     * called once per matrix product, before the panels are split over the cores.
     */
    public final float[] prepare(Matrix w, float[] x, int tokens) {
        int cols = w.cols;
        if (tokens == 1 && w.paddedCols() == cols) {
            return x;
        }
        float[] p = new float[w.paddedCols() * tokens];
        for (int t = 0; t < tokens; t++) {
            for (int c = 0; c < cols; c++) {
                p[c * tokens + t] = x[t * cols + c];
            }
        }
        return p;
    }

    /**
     * {@code out[t * w.rows + r] = dot(w[r], x[t])} for the rows of panels {@code [p0, p1)} and
     * every token, summed in the order the class comment fixes.
     *
     * @param x activations as {@link #prepare} returns them
     */
    public abstract void matmulPanels(Matrix w, float[] x, int tokens, float[] out, int p0, int p1);

    /** {@code sum a[ao + i] * b[bo + i]} for i < n. */
    public abstract float dot(float[] a, int ao, float[] b, int bo, int n);

    /** {@code y[yo + i] += alpha * x[xo + i]} for i < n. */
    public abstract void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n);

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
                LOG.warning("Vector API unavailable (" + e + "); using scalar kernels");
                k = new ScalarKernels();
            }
        }
        LOG.fine("CPU kernels: " + (k.width() == 0 ? "scalar" : k.width() + " float lanes")
                + (vectorModule ? "" : " (start the JVM with --add-modules jdk.incubator.vector for SIMD)"));
        return k;
    }
}
