package io.flinkglm.runtime.backend.cuda;

import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.model.ModelConfig;

import org.bytedeco.javacpp.FloatPointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * KV blocks in one device allocation, float32, laid out {@code [block][layer][K|V][slot][kvDim]}
 * so that a block is contiguous: moving a block (copy, export, import) is one memcpy, and the
 * host reorders it into the shared export format (per layer, K then V for the first
 * {@code tokens} slots). float32, as on the CPU, so KV moves between backends without rounding.
 */
final class CudaKvCache implements KvCache {
    private final Cuda.Device device;
    private final int layers;
    private final int kvDim;
    private final int numBlocks;
    private final int blockSize;
    private final long floatsPerBlock;
    private final long pool;
    private FloatPointer staging; // one block on the host, made on first export or import

    CudaKvCache(Cuda.Device device, ModelConfig config, int numBlocks, int blockSize) {
        if (numBlocks <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("KV cache needs positive blocks and block size, got "
                    + numBlocks + " x " + blockSize);
        }
        this.device = device;
        this.layers = config.numLayers();
        this.kvDim = config.kvDim();
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.floatsPerBlock = 2L * layers * blockSize * kvDim;
        device.bind();
        this.pool = Cuda.alloc(numBlocks * bytesPerBlock());
    }

    /** Device address of the pool, for the attention and store kernels. */
    long pool() {
        return pool;
    }

    int layers() {
        return layers;
    }

    @Override
    public int numBlocks() {
        return numBlocks;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public long bytesPerBlock() {
        return floatsPerBlock * Float.BYTES;
    }

    @Override
    public int exportBytes(int tokens) {
        return 2 * layers * tokens * kvDim * Float.BYTES;
    }

    @Override
    public synchronized void exportBlock(int block, int tokens, ByteBuffer out) {
        checkBlock(block, tokens);
        device.bind();
        FloatBuffer host = staging();
        Cuda.toHost(staging, blockAddress(block), bytesPerBlock());
        ByteBuffer le = out.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int n = tokens * kvDim;
        for (int part = 0; part < 2 * layers; part++) { // layer 0 K, layer 0 V, layer 1 K, ...
            le.asFloatBuffer().put(host.slice(part * blockSize * kvDim, n));
            le.position(le.position() + n * Float.BYTES);
        }
        out.position(le.position());
    }

    @Override
    public synchronized void importBlock(int block, int tokens, ByteBuffer in) {
        checkBlock(block, tokens);
        if (in.remaining() < exportBytes(tokens)) {
            throw new IllegalArgumentException("KV block import needs " + exportBytes(tokens)
                    + " bytes but " + in.remaining() + " remain");
        }
        device.bind();
        FloatBuffer host = staging();
        ByteBuffer le = in.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int n = tokens * kvDim;
        for (int part = 0; part < 2 * layers; part++) {
            FloatBuffer src = le.asFloatBuffer().limit(n);
            host.put(part * blockSize * kvDim, src, 0, n);
            le.position(le.position() + n * Float.BYTES);
        }
        Cuda.toDevice(blockAddress(block), staging, bytesPerBlock());
        in.position(le.position());
    }

    @Override
    public synchronized void copyBlock(int from, int to, int tokens) {
        checkBlock(from, tokens);
        checkBlock(to, tokens);
        device.bind();
        Cuda.deviceToDevice(blockAddress(to), blockAddress(from), bytesPerBlock());
    }

    @Override
    public synchronized void close() {
        device.bind();
        Cuda.free(pool);
        if (staging != null) {
            staging.close();
        }
    }

    private long blockAddress(int block) {
        return pool + block * bytesPerBlock();
    }

    private FloatBuffer staging() {
        if (staging == null) {
            staging = new FloatPointer(floatsPerBlock);
        }
        return staging.asBuffer();
    }

    private void checkBlock(int block, int tokens) {
        if (block < 0 || block >= numBlocks || tokens < 0 || tokens > blockSize) {
            throw new IllegalArgumentException("KV block " + block + " with " + tokens
                    + " tokens is outside " + numBlocks + " blocks of " + blockSize);
        }
    }
}
