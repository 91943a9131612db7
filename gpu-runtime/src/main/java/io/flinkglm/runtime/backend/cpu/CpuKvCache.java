package io.flinkglm.runtime.backend.cpu;

import io.flinkglm.runtime.backend.Float32KvCache;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.model.ModelConfig;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * KV blocks in float32 heap arrays, one K and one V array per layer. float32 keeps exported KV
 * exact, so a conversation resumed from exported bytes continues bit for bit.
 *
 * <p>V is position-major: position {@code s} of block {@code b} starts at
 * {@code (b * blockSize + s) * kvDim}. K is transposed within each block: component {@code c} of
 * that position is at {@code (b * kvDim + c) * blockSize + s}, so one vector load reads one
 * dimension of consecutive positions and attention scores a whole block without horizontal sums
 * ({@link Kernels#blockScores}). Export and import convert to the position-major format all
 * backends share ({@link KvCache}).
 */
final class CpuKvCache extends Float32KvCache {
    final float[][] k; // [layers][numBlocks * blockSize * kvDim]
    final float[][] v; // [layers][numBlocks * blockSize * kvDim]

    CpuKvCache(ModelConfig config, int numBlocks, int blockSize) {
        super(config, numBlocks, blockSize);
        long perLayer = (long) numBlocks * blockSize * kvDim;
        if (perLayer > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(numBlocks + " KV blocks of " + blockSize
                    + " tokens exceed one Java array per layer; use fewer blocks");
        }
        this.k = new float[config.numLayers()][(int) perLayer];
        this.v = new float[config.numLayers()][(int) perLayer];
    }

    /** Offset of a position's V vector within a layer array. */
    int offset(int block, int slot) {
        return (block * blockSize + slot) * kvDim;
    }

    /** Offset of component {@code c} of a block's first key; the block's slots follow it. */
    int keyOffset(int block, int c) {
        return (block * kvDim + c) * blockSize;
    }

    /** Stores one position's key, {@code kvDim} values from {@code src[from]}. */
    void storeKey(int layer, int block, int slot, float[] src, int from) {
        float[] keys = k[layer];
        for (int c = 0, at = keyOffset(block, 0) + slot; c < kvDim; c++, at += blockSize) {
            keys[at] = src[from + c];
        }
    }

    @Override
    public void exportBlock(int block, int tokens, ByteBuffer out) {
        checkBlock(block, tokens);
        ByteBuffer le = out.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int n = tokens * kvDim;
        float[] keys = new float[n];
        for (int layer = 0; layer < k.length; layer++) {
            for (int s = 0; s < tokens; s++) {
                for (int c = 0; c < kvDim; c++) {
                    keys[s * kvDim + c] = k[layer][keyOffset(block, c) + s];
                }
            }
            le.asFloatBuffer().put(keys, 0, n);
            le.position(le.position() + n * Float.BYTES);
            le.asFloatBuffer().put(v[layer], offset(block, 0), n);
            le.position(le.position() + n * Float.BYTES);
        }
        out.position(le.position());
    }

    @Override
    public void importBlock(int block, int tokens, ByteBuffer in) {
        checkBlock(block, tokens);
        if (in.remaining() < exportBytes(tokens)) {
            throw new IllegalArgumentException("KV block import needs " + exportBytes(tokens)
                    + " bytes but " + in.remaining() + " remain");
        }
        ByteBuffer le = in.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int n = tokens * kvDim;
        float[] keys = new float[n];
        for (int layer = 0; layer < k.length; layer++) {
            le.asFloatBuffer().get(keys, 0, n);
            le.position(le.position() + n * Float.BYTES);
            for (int s = 0; s < tokens; s++) {
                storeKey(layer, block, s, keys, s * kvDim);
            }
            le.asFloatBuffer().get(v[layer], offset(block, 0), n);
            le.position(le.position() + n * Float.BYTES);
        }
        in.position(le.position());
    }

    @Override
    public void copyBlock(int from, int to, int tokens) {
        checkBlock(from, tokens);
        checkBlock(to, tokens);
        int n = tokens * kvDim;
        for (int layer = 0; layer < k.length; layer++) {
            for (int c = 0; c < kvDim; c++) {
                System.arraycopy(k[layer], keyOffset(from, c), k[layer], keyOffset(to, c), tokens);
            }
            System.arraycopy(v[layer], offset(from, 0), v[layer], offset(to, 0), n);
        }
    }
}
