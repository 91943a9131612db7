package io.flinkglm.runtime.model;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A matrix holds the checkpoint's values row-major until one backend layout takes them over. */
class MatrixTest {

    @Test
    void rowsReadBackAsGivenRowMajor() {
        Matrix m = Matrix.ofBf16(2, 3, new short[] {
                DType.floatToBf16(1), DType.floatToBf16(2), DType.floatToBf16(3),
                DType.floatToBf16(4), DType.floatToBf16(5), DType.floatToBf16(6)});

        float[] row = new float[3];
        m.copyRow(1, row, 0);

        assertThat(row).containsExactly(4f, 5f, 6f);
        assertThat(m.get(0, 2)).isEqualTo(3f);
        assertThat(m.bytes()).isEqualTo(12);
    }

    @Test
    void aLayoutIsBuiltOnceFromTheRowMajorDataWhichItThenOwns() {
        float[] data = {1, 2, 3, 4};
        Matrix m = Matrix.ofFloats(2, 2, data);

        StringBuilder built = m.laidOut(StringBuilder.class, w -> new StringBuilder().append(w.f32()[3]));
        StringBuilder again = m.laidOut(StringBuilder.class, w -> new StringBuilder("rebuilt"));

        assertThat(again).isSameAs(built).hasToString("4.0");
        assertThatThrownBy(m::f32).isInstanceOf(IllegalStateException.class).hasMessageContaining("StringBuilder");
        assertThatThrownBy(() -> m.laidOut(String.class, w -> "other"))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("load the model again");
        assertThat(m.rows).isEqualTo(2);
        assertThat(m.bytes()).isEqualTo(16);
    }
}
