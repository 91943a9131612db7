package io.flinkglm.runtime.backend.cpu;

import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.Matrix;
import org.apache.flink.annotation.Internal;

/**
 * A weight matrix {@code [rows = out, cols = in]} in the CPU kernels' layout, in the dtype the
 * checkpoint stores: bf16 stays bf16 (widened inside the kernels, exactly), f32 stays f32. Exactly
 * one of {@link #f32} and {@link #bf16} is non-null.
 *
 * <p>The data is stored in <em>panels</em> of {@link #PANEL} rows, repacked once from the model's
 * row-major {@link Matrix}. A panel is column-major in 32-bit words: word {@code j} of the panel's 16 rows lies
 * together, so one 16-float vector load reads 16 rows at one input index and a batch of tokens
 * shares it as an outer product (see the CPU kernels). A word is one f32 column, or for bf16 the
 * pair of columns {@code 2j} (low half) and {@code 2j + 1} (high half). Element {@code (r, c)}
 * therefore sits at word {@code (r / 16) * 16 * words + (c / unit) * 16 + r % 16}. The last panel
 * is padded with zero rows, and an odd bf16 width with a zero column; everything else is the
 * checkpoint's values in the same dtype, with no second copy.
 *
 * <pre>{@code
 * PanelMatrix w = PanelMatrix.of(model.weights().lmHead()); // takes the model's row-major data
 * float x = w.get(1, 2);
 * }</pre>
 */
@Internal
public final class PanelMatrix {
    /** Rows per panel: one AVX-512 float vector; narrower SIMD reads a panel in several loads. */
    public static final int PANEL = 16;

    public final int rows;
    public final int cols;
    /** 32-bit words per row inside a panel: {@code cols} for f32, {@code ceil(cols / 2)} for bf16. */
    public final int words;
    public final float[] f32;  // [panels * PANEL * words] or null
    public final short[] bf16; // [panels * PANEL * words * 2] bf16 bits, or null

    private PanelMatrix(int rows, int cols, float[] f32, short[] bf16) {
        this.rows = rows;
        this.cols = cols;
        this.words = f32 != null ? cols : (cols + 1) / 2;
        this.f32 = f32;
        this.bf16 = bf16;
    }

    /**
     * The model's matrix in panels. The first CPU backend on a model repacks the row-major data,
     * in place where no padding is needed, and the model keeps only the panels (see
     * {@link Matrix#laidOut}): a 9B model is never held twice. Later CPU backends share them.
     */
    public static PanelMatrix of(Matrix m) {
        return m.laidOut(PanelMatrix.class,
                w -> w.isBf16() ? ofBf16(w.rows, w.cols, w.bf16()) : ofFloats(w.rows, w.cols, w.f32()));
    }

    /**
     * A matrix of {@code data} given row-major. Takes the array: when no padding is needed
     * (rows a multiple of 16) it is repacked in place, so loading never holds two copies.
     */
    public static PanelMatrix ofFloats(int rows, int cols, float[] data) {
        checkLength(rows, cols, data.length);
        float[] packed = panelLength(rows, cols) == data.length ? data : new float[(int) panelLength(rows, cols)];
        float[] panel = new float[PANEL * cols];
        for (int p = 0; p < panels(rows); p++) {
            int r0 = p * PANEL;
            int n = Math.min(PANEL, rows - r0);
            System.arraycopy(data, r0 * cols, panel, 0, n * cols);
            java.util.Arrays.fill(panel, n * cols, PANEL * cols, 0f);
            int base = r0 * cols;
            for (int i = 0; i < PANEL; i++) {
                for (int c = 0; c < cols; c++) {
                    packed[base + c * PANEL + i] = panel[i * cols + c];
                }
            }
        }
        return new PanelMatrix(rows, cols, packed, null);
    }

    /**
     * A matrix of bf16 bits given row-major. Takes the array: when no padding is needed (rows a
     * multiple of 16, cols even) it is repacked in place, so loading never holds two copies.
     */
    public static PanelMatrix ofBf16(int rows, int cols, short[] data) {
        checkLength(rows, cols, data.length);
        int words = (cols + 1) / 2;
        long length = 2 * panelLength(rows, words);
        short[] packed = length == data.length ? data : new short[(int) length];
        short[] panel = new short[PANEL * cols];
        for (int p = 0; p < panels(rows); p++) {
            int r0 = p * PANEL;
            int n = Math.min(PANEL, rows - r0);
            System.arraycopy(data, r0 * cols, panel, 0, n * cols);
            java.util.Arrays.fill(panel, n * cols, PANEL * cols, (short) 0);
            int base = 2 * r0 * words;
            for (int i = 0; i < PANEL; i++) {
                for (int c = 0; c < cols; c++) {
                    packed[base + 2 * ((c / 2) * PANEL + i) + c % 2] = panel[i * cols + c];
                }
            }
        }
        return new PanelMatrix(rows, cols, null, packed);
    }

    public boolean isBf16() {
        return bf16 != null;
    }

    /** Number of panels, the last one possibly padded. */
    public int panels() {
        return panels(rows);
    }

    /** Activations per token that a kernel reads: {@code cols}, rounded up to a whole bf16 word. */
    public int paddedCols() {
        return f32 != null ? cols : 2 * words;
    }

    public float get(int row, int col) {
        int word = (row / PANEL) * PANEL * words + (f32 != null ? col : col / 2) * PANEL + row % PANEL;
        return f32 != null ? f32[word] : DType.bf16ToFloat(bf16[2 * word + col % 2]);
    }

    /** Copies one row, widened to f32, into {@code out[offset..offset+cols)}. */
    public void copyRow(int row, float[] out, int offset) {
        int first = (row / PANEL) * PANEL * words + row % PANEL;
        if (f32 != null) {
            for (int c = 0; c < cols; c++) {
                out[offset + c] = f32[first + c * PANEL];
            }
        } else {
            for (int c = 0; c < cols; c++) {
                out[offset + c] = DType.bf16ToFloat(bf16[2 * (first + (c / 2) * PANEL) + c % 2]);
            }
        }
    }

    /** Bytes a forward step streams through this matrix (padding included). */
    public long bytes() {
        return f32 != null ? 4L * f32.length : 2L * bf16.length;
    }

    private static int panels(int rows) {
        return (rows + PANEL - 1) / PANEL;
    }

    private static long panelLength(int rows, int words) {
        return (long) panels(rows) * PANEL * words;
    }

    private static void checkLength(int rows, int cols, int length) {
        if ((long) rows * cols != length) {
            throw new IllegalArgumentException(rows + "x" + cols + " matrix given " + length + " elements");
        }
        if (2 * panelLength(rows, (cols + 1) / 2) > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(rows + "x" + cols + " matrix padded to panels of " + PANEL
                    + " rows has more elements than one Java array holds");
        }
    }
}
