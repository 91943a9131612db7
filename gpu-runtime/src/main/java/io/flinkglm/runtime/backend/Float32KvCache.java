package io.flinkglm.runtime.backend;

import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.ModelConfig;
import org.apache.flink.annotation.Internal;

/**
 * What every float32 {@link KvCache} shares whatever memory it lives in: the block geometry and
 * its checks, and sizes, which follow from the model shape alone because float32 is also the
 * export format. A backend adds only where the floats are and how they are laid out.
 *
 * <pre>{@code
 * final class CpuKvCache extends Float32KvCache { ... super(config, numBlocks, blockSize); ... }
 * }</pre>
 */
@Internal
public abstract class Float32KvCache implements KvCache {
    protected final int layers;
    public final int kvDim;       // floats of one position's K (or V) in one layer
    protected final int numBlocks;
    protected final int blockSize;

    protected Float32KvCache(ModelConfig config, int numBlocks, int blockSize) {
        if (numBlocks <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("KV cache needs positive blocks and block size, got "
                    + numBlocks + " x " + blockSize);
        }
        this.layers = config.numLayers();
        this.kvDim = config.kvDim();
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
    }

    public int layers() {
        return layers;
    }

    @Override
    public DType dtype() {
        return DType.F32;
    }

    @Override
    public int numBlocks() {
        return numBlocks;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    /** K and V of every layer for one block's positions. */
    protected long floatsPerBlock() {
        return 2L * layers * blockSize * kvDim;
    }

    @Override
    public long bytesPerBlock() {
        return floatsPerBlock() * Float.BYTES;
    }

    @Override
    public int exportBytes(int tokens) {
        return 2 * layers * tokens * kvDim * Float.BYTES;
    }

    /** Refuses a block id or a token count outside the cache before any memory is touched. */
    protected void checkBlock(int block, int tokens) {
        if (block < 0 || block >= numBlocks || tokens < 0 || tokens > blockSize) {
            throw new IllegalArgumentException("KV block " + block + " with " + tokens
                    + " tokens is outside " + numBlocks + " blocks of " + blockSize);
        }
    }
}
