package io.flinkglm.runtime.backend.cpu;

import io.flinkglm.runtime.model.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The Vector API kernels against their scalar twin on random inputs. */
class KernelsTest {
    private static final float TOLERANCE = 1e-5f;
    private final Kernels vector = new VectorKernels();
    private final Kernels scalar = new ScalarKernels();
    private final SplittableRandom rng = new SplittableRandom(3);

    @ParameterizedTest
    @CsvSource({"f32,37,64,1", "f32,70,100,5", "f32,33,260,17", "bf16,37,64,1", "bf16,70,100,7", "bf16,9,250,4",
            "bf16,16,32,9", "bf16,50,301,13", "bf16,64,1536,16", "bf16,40,96,2", "bf16,40,96,3", "bf16,33,300,15",
            "f32,33,300,14", "bf16,18,520,11"})
    void matmulEqualsTheScalarTwinToTheBit(String dtype, int rows, int cols, int tokens) {
        PanelMatrix w = randomMatrix(dtype.equals("bf16"), rows, cols);
        float[] x = randomVector(tokens * cols);

        float[] expected = new float[Kernels.paddedTokens(tokens) * rows];
        scalar.matmulPanels(w, scalar.prepare(w, x, tokens), tokens, expected, 0, w.panels());
        float[] actual = new float[Kernels.paddedTokens(tokens) * rows];
        vector.matmulPanels(w, vector.prepare(w, x, tokens), tokens, actual, 0, w.panels());

        // The padding tokens' rows (Kernels.paddedTokens) are scratch.
        assertThat(java.util.Arrays.copyOf(actual, tokens * rows)).isEqualTo(java.util.Arrays.copyOf(expected, tokens * rows));
    }

    @Test
    void theScalarTwinIsTheDotProductWithinFloat32Rounding() {
        PanelMatrix w = randomMatrix(true, 21, 77);
        float[] x = randomVector(3 * 77);
        float[] out = new float[Kernels.paddedTokens(3) * 21];
        scalar.matmulPanels(w, scalar.prepare(w, x, 3), 3, out, 0, w.panels());
        for (int t = 0; t < 3; t++) {
            for (int r = 0; r < 21; r++) {
                double dot = 0;
                for (int c = 0; c < 77; c++) {
                    dot += (double) w.get(r, c) * x[t * 77 + c];
                }
                assertThat((double) out[t * 21 + r]).as("token %d row %d", t, r).isCloseTo(dot, within(1e-5));
            }
        }
    }

    @Test
    void aTokensResultDoesNotDependOnHowManyTokensShareTheCall() {
        PanelMatrix w = randomMatrix(true, 33, 300);
        float[] x = randomVector(17 * 300);
        float[] all = new float[Kernels.paddedTokens(17) * 33];
        vector.matmulPanels(w, vector.prepare(w, x, 17), 17, all, 0, w.panels());
        for (int t = 0; t < 17; t++) {
            float[] one = new float[33];
            float[] xt = java.util.Arrays.copyOfRange(x, t * 300, (t + 1) * 300);
            vector.matmulPanels(w, vector.prepare(w, xt, 1), 1, one, 0, w.panels());
            assertThat(java.util.Arrays.copyOfRange(all, t * 33, (t + 1) * 33)).as("token %d", t).isEqualTo(one);
        }
    }

    @Test
    void panelsSplitAnywhereGiveTheSameProduct() {
        PanelMatrix w = randomMatrix(true, 100, 96);
        float[] x = vector.prepare(w, randomVector(9 * 96), 9);
        float[] whole = new float[Kernels.paddedTokens(9) * 100];
        vector.matmulPanels(w, x, 9, whole, 0, w.panels());
        float[] split = new float[Kernels.paddedTokens(9) * 100];
        vector.matmulPanels(w, x, 9, split, 0, 3);
        vector.matmulPanels(w, x, 9, split, 3, w.panels());
        assertThat(split).isEqualTo(whole);
    }

    @Test
    void dotMatchesTheScalarTwin() {
        float[] a = randomVector(131);
        float[] b = randomVector(131);
        assertThat(vector.dot(a, 3, b, 1, 128)).isCloseTo(scalar.dot(a, 3, b, 1, 128), within(1e-4f));
    }

    /** Heads 6 and 5 take the four-head path and the single-head remainder; block 8 the scalar fallback at 16 lanes. */
    @ParameterizedTest
    @CsvSource({"6,128,16", "5,20,32", "1,16,16", "3,64,8", "16,128,16", "7,32,16"})
    void blockScoresEqualTheScalarTwinToTheBitAndTheDotProducts(int heads, int hd, int bs) {
        int kvDim = 2 * hd; // keys of two kv heads in the block; score the second
        float[] q = randomVector(1 + heads * hd);
        float[] keys = randomVector(kvDim * bs * 2); // two blocks, transposed as CpuKvCache stores them
        int ko = (1 * kvDim + hd) * bs;
        int stride = bs + 3;
        float[] expected = new float[heads * stride + 5];
        float[] actual = expected.clone();
        scalar.blockScores(q, 1, heads, hd, keys, ko, bs, 0.125f, expected, 5, stride);
        vector.blockScores(q, 1, heads, hd, keys, ko, bs, 0.125f, actual, 5, stride);
        assertThat(actual).isEqualTo(expected);
        for (int h = 0; h < heads; h++) {
            for (int s = 0; s < bs; s++) {
                double dot = 0;
                for (int d = 0; d < hd; d++) {
                    dot += (double) q[1 + h * hd + d] * keys[ko + d * bs + s];
                }
                assertThat((double) expected[5 + h * stride + s]).isCloseTo(0.125 * dot, within(1e-5));
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"6,128,70", "5,20,3", "1,16,1", "16,128,33", "2,136,17", "3,272,9", "2,40,100"})
    void weightedValuesEqualTheScalarTwinToTheBitAndTheWeightedSums(int heads, int hd, int positions) {
        int stride = positions + 2;
        float[] probs = randomVector(heads * stride);
        float[] v = randomVector(positions * hd * 3 + 7);
        int[] rows = new int[positions];
        for (int p = 0; p < positions; p++) {
            rows[p] = 7 + ((p * 5) % positions) * hd * 3; // scattered rows, as blocks are
        }
        float[] expected = new float[heads * hd + 2];
        float[] actual = expected.clone();
        scalar.weightedValues(probs, 0, stride, heads, positions, v, rows, hd, expected, 2);
        vector.weightedValues(probs, 0, stride, heads, positions, v, rows, hd, actual, 2);
        assertThat(actual).isEqualTo(expected);
        for (int h = 0; h < heads; h++) {
            for (int d = 0; d < hd; d++) {
                double sum = 0;
                for (int p = 0; p < positions; p++) {
                    sum += (double) probs[h * stride + p] * v[rows[p] + d];
                }
                assertThat((double) expected[2 + h * hd + d]).isCloseTo(sum, within(1e-5));
            }
        }
    }

    @Test
    void expAndSwigluEqualTheScalarTwinToTheBitWhateverTheOffsetAndLength() {
        float[] x = new float[403];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (rng.nextDouble() * 240 - 120); // past both clamps
        }
        x[7] = Float.NaN;
        x[8] = Float.POSITIVE_INFINITY;
        x[9] = Float.NEGATIVE_INFINITY;
        float[] up = randomVector(x.length);
        for (int offset : new int[] {0, 3}) {
            int n = x.length - offset - 5; // a vector body and a tail
            float[] e1 = x.clone();
            float[] e2 = x.clone();
            vector.expShifted(e1, offset, n, 0.25f);
            scalar.expShifted(e2, offset, n, 0.25f);
            assertThat(e1).isEqualTo(e2);

            float[] s1 = new float[x.length];
            float[] s2 = new float[x.length];
            vector.swiglu(x, offset, up, 1, s1, 2, n);
            scalar.swiglu(x, offset, up, 1, s2, 2, n);
            assertThat(s1).isEqualTo(s2);
        }
    }

    @Test
    void floatExpIsWithinTwoUlpOfTheTrueValueAndSaturatesOutsideTheNormalRange() {
        for (int i = 0; i <= 100_000; i++) {
            float x = -87f + 175f * i / 100_000;
            double exact = Math.exp(x);
            assertThat((double) FloatExp.exp(x)).as("exp(%s)", x).isCloseTo(exact, within(2.0 * Math.ulp((float) exact)));
        }
        assertThat(FloatExp.exp(0f)).isEqualTo(1f);
        assertThat(FloatExp.exp(-1000f)).isPositive().isLessThan(2e-38f);
        assertThat(FloatExp.exp(1000f)).isFinite().isGreaterThan(1e38f);
        assertThat(FloatExp.exp(Float.NaN)).isNaN();
        assertThat(FloatExp.silu(-200f)).isCloseTo(0f, within(1e-30f));
        assertThat(FloatExp.silu(200f)).isEqualTo(200f);
        assertThat(FloatExp.silu(1f)).isCloseTo((float) (1 / (1 + Math.exp(-1))), within(1e-7f));
    }

    private PanelMatrix randomMatrix(boolean bf16, int rows, int cols) {
        float[] v = randomVector(rows * cols);
        if (!bf16) {
            return PanelMatrix.ofFloats(rows, cols, v);
        }
        short[] s = new short[v.length];
        for (int i = 0; i < v.length; i++) {
            s[i] = DType.floatToBf16(v[i]);
        }
        return PanelMatrix.ofBf16(rows, cols, s);
    }

    private float[] randomVector(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return v;
    }

    private static float scale(float[] v) {
        float m = 1f;
        for (float f : v) {
            m = Math.max(m, Math.abs(f));
        }
        return m;
    }
}
