package io.flinkglm.runtime.backend;

import io.flinkglm.runtime.model.DType;
import org.apache.flink.annotation.PublicEvolving;

import java.nio.ByteBuffer;

/**
 * Physical KV storage: {@code numBlocks} fixed-size blocks of {@code blockSize} token positions,
 * each holding K and V for every layer. Which block belongs to whom is the engine's bookkeeping
 * (its block manager); the backend only stores and moves bytes.
 *
 * <p>Export format of one block, shared by every backend so KV moves between them: for each layer,
 * K then V for positions 0..tokens-1, each {@code kvDim} little-endian values of the cache's
 * {@link #dtype()}. KV of another dtype is converted before {@link #importBlock} sees it
 * ({@link KvEncoding#convert}: widened exactly, or rounded to nearest even).
 *
 * <pre>{@code
 * KvCache kv = backend.newKvCache(1024, 16);
 * ByteBuffer out = ByteBuffer.allocate(kv.exportBytes(16)).order(ByteOrder.LITTLE_ENDIAN);
 * kv.exportBlock(7, 16, out);
 * }</pre>
 */
@PublicEvolving
public interface KvCache extends AutoCloseable {
    int numBlocks();

    int blockSize();

    /** The element type of K and V here and in {@link #exportBlock}'s bytes: F32 or BF16. */
    DType dtype();

    /** Bytes of device memory one block occupies. */
    long bytesPerBlock();

    /** Bytes {@link #exportBlock} writes for a block holding {@code tokens} positions. */
    int exportBytes(int tokens);

    /** Writes the first {@code tokens} positions of a block into {@code out} (little-endian). */
    void exportBlock(int block, int tokens, ByteBuffer out);

    /** Reads the first {@code tokens} positions of a block from {@code in}, as written by export. */
    void importBlock(int block, int tokens, ByteBuffer in);

    /** Copies the first {@code tokens} positions of block {@code from} into block {@code to}. */
    void copyBlock(int from, int to, int tokens);

    @Override
    default void close() {
    }
}
