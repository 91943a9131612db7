package io.flinkglm.runtime.model;

/**
 * A weight matrix in nn.Linear layout {@code [rows = out, cols = in]}, row-major, kept in the dtype
 * the checkpoint stores: bf16 stays bf16 (widened inside the kernels, exactly), f32 stays f32.
 * Exactly one of {@link #f32} and {@link #bf16} is non-null.
 *
 * <pre>{@code
 * Matrix w = Matrix.ofFloats(2, 3, new float[] {1, 2, 3, 4, 5, 6});
 * float x = w.get(1, 2); // 6
 * }</pre>
 */
public final class Matrix {
    public final int rows;
    public final int cols;
    public final float[] f32;  // [rows * cols] or null
    public final short[] bf16; // [rows * cols] bf16 bits, or null

    private Matrix(int rows, int cols, float[] f32, short[] bf16) {
        long n = (long) rows * cols;
        int length = f32 != null ? f32.length : bf16.length;
        if (n != length) {
            throw new IllegalArgumentException(rows + "x" + cols + " matrix given " + length + " elements");
        }
        this.rows = rows;
        this.cols = cols;
        this.f32 = f32;
        this.bf16 = bf16;
    }

    public static Matrix ofFloats(int rows, int cols, float[] data) {
        return new Matrix(rows, cols, data, null);
    }

    public static Matrix ofBf16(int rows, int cols, short[] data) {
        return new Matrix(rows, cols, null, data);
    }

    public boolean isBf16() {
        return bf16 != null;
    }

    public float get(int row, int col) {
        int i = row * cols + col;
        return f32 != null ? f32[i] : DType.bf16ToFloat(bf16[i]);
    }

    /** Copies one row, widened to f32, into {@code out[offset..offset+cols)}. */
    public void copyRow(int row, float[] out, int offset) {
        int base = row * cols;
        if (f32 != null) {
            System.arraycopy(f32, base, out, offset, cols);
        } else {
            for (int c = 0; c < cols; c++) {
                out[offset + c] = DType.bf16ToFloat(bf16[base + c]);
            }
        }
    }

    /** Bytes a forward step streams through this matrix. */
    public long bytes() {
        return (long) rows * cols * (f32 != null ? 4 : 2);
    }
}
