package io.flinkglm.runtime.backend.cpu;

/**
 * GLM-4's rotary embedding: only the first {@code rotaryDim} dims of each head rotate, in ADJACENT
 * pairs (GPT-J style, not NeoX rotate-half): for i < rotaryDim/2, {@code f_i = theta^(-2i/rotaryDim)},
 * {@code a = position * f_i}, {@code y[2i] = x[2i] cos a - x[2i+1] sin a},
 * {@code y[2i+1] = x[2i+1] cos a + x[2i] sin a}. Angles are computed in double.
 */
final class Rope {
    private final int rotaryDim;
    private final double[] invFreq; // [rotaryDim / 2]

    Rope(int rotaryDim, double theta) {
        this.rotaryDim = rotaryDim;
        this.invFreq = new double[rotaryDim / 2];
        for (int i = 0; i < invFreq.length; i++) {
            invFreq[i] = Math.pow(theta, -2.0 * i / rotaryDim);
        }
    }

    /** Rotates {@code heads} consecutive heads of {@code headDim} starting at {@code offset}. */
    void rotate(float[] v, int offset, int heads, int headDim, int position) {
        for (int i = 0; i < invFreq.length; i++) {
            double a = position * invFreq[i];
            float cos = (float) Math.cos(a);
            float sin = (float) Math.sin(a);
            for (int h = 0; h < heads; h++) {
                int j = offset + h * headDim + 2 * i;
                float x0 = v[j];
                float x1 = v[j + 1];
                v[j] = x0 * cos - x1 * sin;
                v[j + 1] = x1 * cos + x0 * sin;
            }
        }
    }
}
