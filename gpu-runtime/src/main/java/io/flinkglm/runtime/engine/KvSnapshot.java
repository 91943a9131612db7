package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.backend.KvEncoding;
import io.flinkglm.runtime.model.DType;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A request's KV as separate blocks, so a caller can keep it block by block (the Flink operator keeps
 * one keyed map entry per block) and a turn moves only the blocks it filled. Each block is the backend's
 * export of up to {@code blockSize} positions ({@link io.flinkglm.runtime.backend.KvCache#exportBlock})
 * followed by an 8-byte trailer of two little-endian ints:
 * <pre>
 *   byte[] values      K and V of every layer, in the block's dtype
 *   int    CRC32 of the values, then of the dtype code's 4 bytes
 *   int    dtype code (1 = F32, 2 = BF16)
 * </pre>
 * Blocks written before the dtype existed have 0 in the dtype code (their trailer was the CRC32 of the
 * values as a long, whose high half is always 0) and are read as F32, their CRC covering the values
 * alone. Every block carries its own dtype, so one conversation's blocks may mix them (kept by a CPU
 * engine, continued on a bf16 GPU cache); an import converts each to the engine's cache dtype, widening
 * bf16 exactly or rounding f32 to nearest even. A dtype code no writer uses is refused, naming the block
 * and the field; a code changed to another valid one fails the block's checksum.
 *
 * <p>An export may start at a later block ({@link GenerationRequest.Builder#exportKvFrom}): then
 * {@code blocks} holds blocks {@code firstBlock ..} and the caller already has the ones before. An import
 * always starts at block 0.
 *
 * <pre>{@code
 * KvSnapshot kv = result.kvSnapshot();              // from a request built with exportKvFrom(storedFullBlocks)
 * for (int j = 0; j < kv.blocks().size(); j++) state.put(kv.firstBlock() + j, kv.blocks().get(j));
 * }</pre>
 *
 * @param fingerprint the model's {@link io.flinkglm.runtime.model.Glm4Model#fingerprint()}: KV of other weights is refused
 * @param tokens      the token ids of every position the KV covers, from position 0                  [n]
 * @param blocks      blocks {@code firstBlock .. ceil(n / blockSize) - 1}
 */
public record KvSnapshot(long fingerprint, int blockSize, int[] tokens, int firstBlock, List<byte[]> blocks) {

    public KvSnapshot {
        Objects.requireNonNull(tokens, "tokens");
        blocks = List.copyOf(blocks);
        if (blockSize <= 0) {
            throw new IllegalArgumentException("blockSize must be positive but is " + blockSize);
        }
        int total = blockCount(tokens.length, blockSize);
        if (firstBlock < 0 || firstBlock + blocks.size() != total) {
            throw new IllegalArgumentException("KV of " + tokens.length + " tokens in blocks of " + blockSize
                    + " has " + total + " blocks, but this snapshot holds blocks " + firstBlock + ".."
                    + (firstBlock + blocks.size() - 1));
        }
    }

    /** Blocks needed for {@code tokens} positions. */
    public static int blockCount(int tokens, int blockSize) {
        return (tokens + blockSize - 1) / blockSize;
    }

    /** Blocks completely filled: a later export of the same conversation repeats none of them. */
    public int fullBlocks() {
        return tokens.length / blockSize;
    }

    /** The dtype of block {@code firstBlock + j}'s values, from its trailer. */
    public DType blockDtype(int j) {
        return KvTransfer.blockDtype(blocks.get(j), firstBlock + j);
    }

    /**
     * The same KV with every block's values in {@code dtype} (rounded to nearest even, or widened exactly):
     * what an engine with a cache of that dtype would have exported.
     */
    public KvSnapshot withDtype(DType dtype) {
        List<byte[]> converted = new ArrayList<>(blocks.size());
        for (int j = 0; j < blocks.size(); j++) {
            byte[] block = blocks.get(j);
            if (block.length < 8) {
                throw new IllegalArgumentException("KV block " + (firstBlock + j) + " is " + block.length
                        + " bytes, shorter than its trailer");
            }
            DType from = blockDtype(j);
            KvTransfer.checkBlockCrc(block, firstBlock + j); // never re-seal corrupt values under a fresh CRC
            int values = (block.length - 8) / from.bytes();
            ByteBuffer out = KvEncoding.convert(ByteBuffer.wrap(block, 0, values * from.bytes()), from, dtype, values);
            byte[] sealed = new byte[values * dtype.bytes() + 8];
            out.get(sealed, 0, values * dtype.bytes());
            converted.add(KvTransfer.sealBlock(sealed, dtype));
        }
        return new KvSnapshot(fingerprint, blockSize, tokens, firstBlock, converted);
    }

    public long bytes() {
        long n = 0;
        for (byte[] b : blocks) {
            n += b.length;
        }
        return n;
    }
}
