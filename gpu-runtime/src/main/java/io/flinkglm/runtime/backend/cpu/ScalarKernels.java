package io.flinkglm.runtime.backend.cpu;

import io.flinkglm.runtime.model.DType;
import org.apache.flink.annotation.Internal;

/**
 * The plain-Java twin of {@link VectorKernels}: the reference for its tests and the fallback. Its
 * matrix product and attention run the same fma chains (Math.fma, as the Vector API's fma) in the
 * same order, so the two agree to the bit; it walks a panel's 16 rows side by side to read the weights in order.
 * Math.fma is one instruction wherever the JIT finds FMA hardware (x86 since 2013, all aarch64).
 */
@Internal
public final class ScalarKernels extends Kernels {

    @Override
    public int width() {
        return 0;
    }

    @Override
    public void matmulPanels(PanelMatrix w, float[] x, int tokens, float[] out, int p0, int p1) {
        int words = w.words;
        int stride = paddedTokens(tokens);
        float[] acc = new float[PanelMatrix.PANEL];
        for (int p = p0; p < p1; p++) {
            int base = p * PanelMatrix.PANEL * words;
            int rowsHere = Math.min(PanelMatrix.PANEL, w.rows - p * PanelMatrix.PANEL);
            for (int t = 0; t < tokens; t++) {
                java.util.Arrays.fill(acc, 0f);
                for (int j = 0; j < words; j++) {
                    int word = base + j * PanelMatrix.PANEL;
                    for (int i = 0; i < PanelMatrix.PANEL; i++) {
                        if (w.f32 != null) {
                            acc[i] = Math.fma(w.f32[word + i], x[j * stride + t], acc[i]);
                        } else {
                            acc[i] = Math.fma(DType.bf16ToFloat(w.bf16[2 * (word + i)]), x[2 * j * stride + t], acc[i]);
                            acc[i] = Math.fma(DType.bf16ToFloat(w.bf16[2 * (word + i) + 1]), x[(2 * j + 1) * stride + t], acc[i]);
                        }
                    }
                }
                System.arraycopy(acc, 0, out, t * w.rows + p * PanelMatrix.PANEL, rowsHere);
            }
        }
    }

    @Override
    public float dot(float[] a, int ao, float[] b, int bo, int n) {
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += a[ao + i] * b[bo + i];
        }
        return sum;
    }

    @Override
    public void blockScores(float[] q, int qo, int heads, int hd, float[] kT, int ko, int bs, float scale,
                            float[] scores, int so, int sstride) {
        blockScoresScalar(q, qo, heads, hd, kT, ko, bs, scale, scores, so, sstride);
    }

    @Override
    public void weightedValues(float[] probs, int po, int pstride, int heads, int positions,
                               float[] v, int[] rows, int hd, float[] out, int oo) {
        for (int h = 0; h < heads; h++) {
            for (int d = 0; d < hd; d++) {
                out[oo + h * hd + d] = weightedValue(probs, po + h * pstride, positions, v, rows, d);
            }
        }
    }

    @Override
    public void expShifted(float[] x, int o, int n, float shift) {
        for (int i = 0; i < n; i++) {
            x[o + i] = FloatExp.exp(x[o + i] - shift);
        }
    }

    @Override
    public void swiglu(float[] gate, int go, float[] up, int uo, float[] out, int oo, int n) {
        for (int i = 0; i < n; i++) {
            out[oo + i] = up[uo + i] * FloatExp.silu(gate[go + i]);
        }
    }
}
