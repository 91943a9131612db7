package io.flinkglm.runtime.model;

import org.apache.flink.annotation.Internal;

import java.util.function.Function;

/**
 * A weight matrix of shape nn.Linear {@code [rows = out, cols = in]} as the checkpoint stores it:
 * row-major, bf16 kept as bf16 bits, f32 as floats (F16 is widened to f32 at load). No backend's
 * layout lives here.
 *
 * <p>A backend whose kernels want another layout builds it once through {@link #laidOut}, which
 * hands it the row-major arrays and keeps only what it builds: repacking in place, a 9B model's
 * 18.8 GB are never held twice. After that the row-major accessors refuse, naming the layout that
 * took the data; a backend that reads row-major weights (cuda uploads them) is created first, or
 * from a freshly loaded model.
 *
 * <pre>{@code
 * Matrix w = Matrix.ofFloats(2, 3, new float[] {1, 2, 3, 4, 5, 6});
 * float x = w.get(1, 2); // 6
 * }</pre>
 */
@Internal
public final class Matrix {
    public final int rows;
    public final int cols;
    private final boolean bf16;
    private float[] f32Data;  // [rows * cols] row-major; null when bf16 or once laid out
    private short[] bf16Data; // [rows * cols] bf16 bits, row-major; null when f32 or once laid out
    private Object laidOut;   // the layout built from the data by laidOut, or null
    private final long sample; // FNV-1a over the shape and up to SAMPLES evenly spaced values' bits

    /** Values hashed into {@link #sampleFingerprint()}: enough to tell two checkpoints apart, cheap at load. */
    static final int SAMPLES = 4096;

    private Matrix(int rows, int cols, float[] f32, short[] bf16) {
        int length = f32 != null ? f32.length : bf16.length;
        if ((long) rows * cols != length) {
            throw new IllegalArgumentException(rows + "x" + cols + " matrix given " + length + " elements");
        }
        this.rows = rows;
        this.cols = cols;
        this.bf16 = bf16 != null;
        this.f32Data = f32;
        this.bf16Data = bf16;
        this.sample = sample(rows, cols, f32, bf16);
    }

    /**
     * A fingerprint of this matrix's shape and values, from up to {@value #SAMPLES} evenly spaced
     * values taken when it was built (so it stays available after a backend takes the data): two
     * checkpoints of one shape with different weights give different values with near certainty.
     */
    public long sampleFingerprint() {
        return sample;
    }

    private static long sample(int rows, int cols, float[] f32, short[] bf16) {
        long n = (long) rows * cols;
        long h = Fnv1a.mix(Fnv1a.mix(Fnv1a.OFFSET, rows), cols);
        // An odd stride so the samples walk across columns rather than down one.
        long stride = Math.max(1, n / SAMPLES) | 1;
        for (long i = 0; i < n; i += stride) {
            h = Fnv1a.mix(h, f32 != null ? Float.floatToRawIntBits(f32[(int) i]) : bf16[(int) i]);
        }
        return h;
    }

    /** A matrix of floats given row-major; takes the array. */
    public static Matrix ofFloats(int rows, int cols, float[] data) {
        return new Matrix(rows, cols, data, null);
    }

    /** A matrix of bf16 bits given row-major; takes the array. */
    public static Matrix ofBf16(int rows, int cols, short[] data) {
        return new Matrix(rows, cols, null, data);
    }

    public boolean isBf16() {
        return bf16;
    }

    /** The row-major floats ({@code [rows * cols]}) of an f32 matrix. */
    public synchronized float[] f32() {
        checkRowMajor();
        if (bf16) {
            throw new IllegalStateException(rows + "x" + cols + " matrix is bf16: read bf16()");
        }
        return f32Data;
    }

    /** The row-major bf16 bits ({@code [rows * cols]}) of a bf16 matrix. */
    public synchronized short[] bf16() {
        checkRowMajor();
        if (!bf16) {
            throw new IllegalStateException(rows + "x" + cols + " matrix is f32: read f32()");
        }
        return bf16Data;
    }

    public float get(int row, int col) {
        int i = row * cols + col;
        return bf16 ? DType.bf16ToFloat(bf16()[i]) : f32()[i];
    }

    /** Copies one row, widened to f32, into {@code out[offset..offset+cols)}. */
    public void copyRow(int row, float[] out, int offset) {
        if (bf16) {
            short[] data = bf16();
            for (int c = 0; c < cols; c++) {
                out[offset + c] = DType.bf16ToFloat(data[row * cols + c]);
            }
        } else {
            System.arraycopy(f32(), row * cols, out, offset, cols);
        }
    }

    /** Bytes of the checkpoint's values: what a forward step streams through this matrix. */
    public long bytes() {
        return (long) rows * cols * (bf16 ? 2 : 4);
    }

    /**
     * This matrix in a backend's own layout, built once. The first call runs {@code build} on this
     * matrix (it reads the row-major arrays, and may repack them in place), keeps the result and
     * drops the row-major arrays; later calls for the same layout return that result, so every
     * backend of that kind on this model shares it.
     *
     * @throws IllegalStateException when another layout already took the data
     */
    public synchronized <T> T laidOut(Class<T> layout, Function<Matrix, T> build) {
        if (laidOut == null) {
            T built = build.apply(this);
            f32Data = null;
            bf16Data = null;
            laidOut = built;
        }
        if (!layout.isInstance(laidOut)) {
            throw new IllegalStateException(rows + "x" + cols + " matrix is already laid out as "
                    + laidOut.getClass().getSimpleName() + ", not " + layout.getSimpleName()
                    + ": load the model again for a backend that needs another layout");
        }
        return layout.cast(laidOut);
    }

    private void checkRowMajor() {
        if (laidOut != null) {
            throw new IllegalStateException(rows + "x" + cols + " matrix was handed to a backend as "
                    + laidOut.getClass().getSimpleName() + " and holds no row-major data any more: create a backend"
                    + " that reads row-major weights (cuda) before that one, or from a freshly loaded model");
        }
    }
}
