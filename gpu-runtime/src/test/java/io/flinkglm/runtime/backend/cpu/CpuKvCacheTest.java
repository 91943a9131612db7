package io.flinkglm.runtime.backend.cpu;

import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.ModelConfig;
import io.flinkglm.runtime.model.RandomCheckpoint;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

import static org.assertj.core.api.Assertions.assertThat;

/** The transposed K layout stays internal: export writes, and import reads, the shared position-major format. */
class CpuKvCacheTest {
    private static final ModelConfig CONFIG = RandomCheckpoint.preset("tiny", DType.F32);
    private static final int BLOCK_SIZE = 8;
    private static final int TOKENS = 5;

    @Test
    void exportWritesEachLayersKeysThenValuesPositionByPosition() {
        CpuKvCache kv = new CpuKvCache(CONFIG, 4, BLOCK_SIZE);
        int kvDim = kv.kvDim;
        for (int layer = 0; layer < CONFIG.numLayers(); layer++) {
            for (int s = 0; s < TOKENS; s++) {
                float[] key = new float[kvDim];
                for (int c = 0; c < kvDim; c++) {
                    key[c] = value(layer, 0, s, c);
                    kv.v[layer][kv.offset(3, s) + c] = value(layer, 1, s, c);
                }
                kv.storeKey(layer, 3, s, key, 0);
            }
        }

        FloatBuffer exported = export(kv, 3);

        for (int layer = 0; layer < CONFIG.numLayers(); layer++) {
            for (int kind = 0; kind < 2; kind++) {
                for (int s = 0; s < TOKENS; s++) {
                    for (int c = 0; c < kvDim; c++) {
                        assertThat(exported.get()).as("layer %d %s position %d component %d",
                                layer, kind == 0 ? "K" : "V", s, c).isEqualTo(value(layer, kind, s, c));
                    }
                }
            }
        }
        assertThat(exported.hasRemaining()).isFalse();
    }

    @Test
    void importThenCopyGivesBackTheSameBytes() {
        CpuKvCache source = new CpuKvCache(CONFIG, 2, BLOCK_SIZE);
        ByteBuffer bytes = ByteBuffer.allocate(source.exportBytes(TOKENS)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; bytes.remaining() >= Float.BYTES; i++) {
            bytes.putFloat(i * 0.5f - 7f);
        }
        bytes.flip();

        CpuKvCache kv = new CpuKvCache(CONFIG, 4, BLOCK_SIZE);
        kv.importBlock(1, TOKENS, bytes.duplicate());
        kv.copyBlock(1, 2, TOKENS);

        assertThat(exportBytes(kv, 1)).isEqualTo(bytes);
        assertThat(exportBytes(kv, 2)).isEqualTo(bytes);
    }

    private static float value(int layer, int kind, int slot, int c) {
        return layer * 10_000 + kind * 1_000 + slot * 100 + c;
    }

    private static FloatBuffer export(CpuKvCache kv, int block) {
        return exportBytes(kv, block).asFloatBuffer();
    }

    private static ByteBuffer exportBytes(CpuKvCache kv, int block) {
        ByteBuffer out = ByteBuffer.allocate(kv.exportBytes(TOKENS)).order(ByteOrder.LITTLE_ENDIAN);
        kv.exportBlock(block, TOKENS, out);
        assertThat(out.hasRemaining()).isFalse();
        return out.flip();
    }
}
