package io.flinkglm.runtime.backend.cpu;

import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.Matrix;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Panel packing keeps every element where get and copyRow find it, whatever the shape. */
class PanelMatrixTest {

    @ParameterizedTest
    @CsvSource({"f32,16,8", "f32,37,5", "bf16,32,6", "bf16,37,7", "bf16,3,1"})
    void rowsReadBackAsGivenRowMajor(String dtype, int rows, int cols) {
        float[] rowMajor = new float[rows * cols];
        for (int i = 0; i < rowMajor.length; i++) {
            rowMajor[i] = i + 1; // small integers: exact in bf16
        }
        PanelMatrix m;
        if (dtype.equals("f32")) {
            m = PanelMatrix.ofFloats(rows, cols, rowMajor.clone());
        } else {
            short[] bits = new short[rowMajor.length];
            for (int i = 0; i < bits.length; i++) {
                bits[i] = DType.floatToBf16(rowMajor[i] % 256);
                rowMajor[i] = rowMajor[i] % 256;
            }
            m = PanelMatrix.ofBf16(rows, cols, bits);
        }

        float[] copied = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            m.copyRow(r, copied, r * cols);
            for (int c = 0; c < cols; c++) {
                assertThat(m.get(r, c)).as("(%d, %d)", r, c).isEqualTo(rowMajor[r * cols + c]);
            }
        }
        assertThat(copied).isEqualTo(rowMajor);
    }

    @Test
    void theModelsMatrixIsRepackedOnceAndSharedByEveryCpuBackend() {
        Matrix model = Matrix.ofBf16(32, 4, new short[32 * 4]);

        PanelMatrix first = PanelMatrix.of(model);

        assertThat(PanelMatrix.of(model)).isSameAs(first);
        assertThatThrownBy(model::bf16).isInstanceOf(IllegalStateException.class).hasMessageContaining("PanelMatrix");
    }
}
