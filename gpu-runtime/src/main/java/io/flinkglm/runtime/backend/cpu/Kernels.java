package io.flinkglm.runtime.backend.cpu;

import io.flinkglm.runtime.model.Matrix;

import java.util.logging.Logger;

/**
 * The CPU's inner loops: matrix rows times activations, and the dot/axpy of attention. Two
 * implementations compute the same math: {@link VectorKernels} (JDK Vector API) and its scalar
 * twin {@link ScalarKernels}; a test compares them on random inputs.
 *
 * <p>The choice is made once, at class initialisation: the widest SIMD the JVM offers when the
 * {@code jdk.incubator.vector} module is enabled, else scalar. {@code -Dflinkglm.simd=0} forces the
 * scalar path. Batch invariance rests on these loops: the value of one output never depends on how
 * many tokens share the call, because each token keeps its own accumulators in a fixed order.
 */
public abstract class Kernels {
    private static final Logger LOG = Logger.getLogger(Kernels.class.getName());

    /** The kernels this JVM uses, chosen once. */
    public static final Kernels BEST = choose();

    /** SIMD width in float lanes; 0 for the scalar kernels. */
    public abstract int width();

    /**
     * Puts the activations in the order the row loop reads them (the vector bf16 path reads even
     * and odd columns apart). Called once per matrix product, before the rows are split.
     */
    public float[] prepare(Matrix w, float[] x, int tokens) {
        return x;
    }

    /**
     * {@code out[t * w.rows + r] = dot(w[r], x[t])} for rows {@code [r0, r1)} and every token.
     *
     * @param x prepared activations [tokens * w.cols]
     */
    public abstract void matmulRows(Matrix w, float[] x, int tokens, float[] out, int r0, int r1);

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
