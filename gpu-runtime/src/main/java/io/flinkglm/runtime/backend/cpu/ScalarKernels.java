package io.flinkglm.runtime.backend.cpu;

import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.Matrix;

/** The plain-Java twin of {@link VectorKernels}: the reference for its tests and the fallback. */
public final class ScalarKernels extends Kernels {

    @Override
    public int width() {
        return 0;
    }

    @Override
    public void matmulRows(Matrix w, float[] x, int tokens, float[] out, int r0, int r1) {
        int cols = w.cols;
        for (int r = r0; r < r1; r++) {
            int base = r * cols;
            for (int t = 0; t < tokens; t++) {
                int xo = t * cols;
                float sum = 0f;
                if (w.f32 != null) {
                    for (int c = 0; c < cols; c++) {
                        sum += w.f32[base + c] * x[xo + c];
                    }
                } else {
                    for (int c = 0; c < cols; c++) {
                        sum += DType.bf16ToFloat(w.bf16[base + c]) * x[xo + c];
                    }
                }
                out[t * w.rows + r] = sum;
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
    public void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        for (int i = 0; i < n; i++) {
            y[yo + i] += alpha * x[xo + i];
        }
    }
}
