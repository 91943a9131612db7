package io.flinkglm.runtime.backend.cuda;

import io.flinkglm.runtime.backend.Float32KvCache;
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
final class CudaKvCache extends Float32KvCache {
    private final Cuda.Device device;
    private final long pool;
    private FloatPointer staging; // one block on the host, made on first export or import

    CudaKvCache(Cuda.Device device, ModelConfig config, int numBlocks, int blockSize) {
        super(config, numBlocks, blockSize);
        this.device = device;
        device.bind();
        this.pool = Cuda.alloc(numBlocks * bytesPerBlock());
    }

    /** Device address of the pool, for the attention and store kernels. */
    long pool() {
        return pool;
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
            staging = new FloatPointer(floatsPerBlock());
        }
        return staging.asBuffer();
    }
}
