package io.flinkglm.runtime.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkglm.runtime.model.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The conversion KV imports go through: bf16 widens exactly, f32 rounds to nearest even. */
class KvEncodingTest {

    @Test
    void bf16WidensExactlyAndRoundsBackUnchanged() {
        SplittableRandom random = new SplittableRandom(3);
        short[] bits = new short[4096];
        for (int i = 0; i < bits.length; i++) {
            do {
                bits[i] = (short) random.nextInt(1 << 16);
            } while (Float.isNaN(DType.bf16ToFloat(bits[i])));
        }
        ByteBuffer bf16 = ByteBuffer.allocate(2 * bits.length).order(ByteOrder.LITTLE_ENDIAN);
        bf16.asShortBuffer().put(bits);
        ByteBuffer f32 = KvEncoding.convert(bf16, DType.BF16, DType.F32, bits.length);
        for (int i = 0; i < bits.length; i++) {
            assertThat(Float.floatToRawIntBits(f32.getFloat(4 * i))).isEqualTo(bits[i] << 16);
        }
        assertThat(KvEncoding.convert(f32, DType.F32, DType.BF16, bits.length)).isEqualTo(bf16);
    }

    @Test
    void float32RoundsToNearestEven() {
        float[] in = {
            1f + 0x1p-8f,            // halfway, even below: 1
            1f + 3 * 0x1p-8f,        // halfway, odd below: up to 1 + 2^-6
            1f + 0x1p-8f + 0x1p-20f, // past halfway: up to 1 + 2^-7
            -2.5f,                   // exact
            Float.POSITIVE_INFINITY, Float.NaN,
        };
        float[] expected = {1f, 1f + 0x1p-6f, 1f + 0x1p-7f, -2.5f, Float.POSITIVE_INFINITY, Float.NaN};
        ByteBuffer f32 = ByteBuffer.allocate(4 * in.length).order(ByteOrder.LITTLE_ENDIAN);
        f32.asFloatBuffer().put(in);
        ByteBuffer bf16 = KvEncoding.convert(f32, DType.F32, DType.BF16, in.length);
        for (int i = 0; i < in.length; i++) {
            assertThat(Float.valueOf(DType.bf16ToFloat(bf16.getShort(2 * i)))).as("element %d", i) // boxed: NaN equals NaN
                    .isEqualTo(Float.valueOf(expected[i]));
        }
    }

    @Test
    void aCodeNoWriterUsesIsRefusedNamingTheField() {
        assertThat(KvEncoding.dtype(KvEncoding.code(DType.BF16), "f")).isEqualTo(DType.BF16);
        assertThat(KvEncoding.dtype(KvEncoding.code(DType.F32), "f")).isEqualTo(DType.F32);
        assertThatThrownBy(() -> KvEncoding.dtype(0, "block 3's dtype field"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("block 3's dtype field holds 0");
        assertThatThrownBy(() -> KvEncoding.code(DType.F16)).hasMessageContaining("not a KV dtype");
    }
}
