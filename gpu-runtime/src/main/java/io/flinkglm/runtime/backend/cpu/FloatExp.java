package io.flinkglm.runtime.backend.cpu;

/**
 * {@code exp} in float32 arithmetic, the one the CPU's softmax and SiLU use. {@link VectorKernels}
 * runs the same operations lane by lane (every step is an IEEE add, multiply or fma, so each lane
 * rounds exactly as this scalar code does) and the two agree to the bit; a value's exp therefore
 * never depends on whether it fell in a vector body or a tail, nor on the SIMD width.
 *
 * <p>Cody-Waite reduction {@code x = n ln2 + r}, |r| <= ln2 / 2, then Cephes' degree-6 polynomial
 * for e^r (within 2 ulp of the true value over the range) and the exponent set from n. Arguments
 * are clamped to [-87, 88], where e^x is a normal float: below it the result is at most 1.7e-38
 * instead of smaller, above it 1.7e38 instead of larger. Neither changes a softmax weight or a
 * SiLU output by a representable amount. NaN stays NaN.
 */
final class FloatExp {
    static final float LO = -87f;
    static final float HI = 88f;
    static final float LOG2E = 1.44269504088896341f;
    /** 1.5 * 2^23: adding and subtracting it rounds a float of magnitude < 2^22 to an integer, ties to even. */
    static final float ROUND = 12582912f;
    static final float MINUS_LN2_HI = -0.693359375f;
    static final float MINUS_LN2_LO = 2.12194440e-4f;
    /**
     * {@code x * log2(e) + ROUND} holds n in its low mantissa bits: its bits minus ROUND's, plus
     * the exponent bias, are 2^n's exponent field. No float-to-int conversion needed.
     */
    static final int EXPONENT_FROM_ROUNDED = 127 - Float.floatToRawIntBits(ROUND);
    static final float P0 = 1.9875691500e-4f;
    static final float P1 = 1.3981999507e-3f;
    static final float P2 = 8.3334519073e-3f;
    static final float P3 = 4.1665795894e-2f;
    static final float P4 = 1.6666665459e-1f;
    static final float P5 = 5.0000001201e-1f;

    private FloatExp() {}

    static float exp(float x) {
        x = Math.min(Math.max(x, LO), HI);
        float shifted = Math.fma(x, LOG2E, ROUND);
        float n = shifted - ROUND;
        float r = Math.fma(n, MINUS_LN2_HI, x);
        r = Math.fma(n, MINUS_LN2_LO, r);
        float p = Math.fma(P0, r, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        return y * Float.intBitsToFloat((Float.floatToRawIntBits(shifted) + EXPONENT_FROM_ROUNDED) << 23);
    }

    /** SiLU, {@code g / (1 + e^-g)}. */
    static float silu(float g) {
        return g / (1f + exp(-g));
    }
}
