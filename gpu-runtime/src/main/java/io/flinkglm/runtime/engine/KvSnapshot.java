package io.flinkglm.runtime.engine;

import java.util.List;
import java.util.Objects;

/**
 * A request's KV as separate blocks, so a caller can keep it block by block (the Flink operator keeps
 * one keyed map entry per block) and a turn moves only the blocks it filled. Each block is the backend's
 * export of up to {@code blockSize} positions followed by the CRC32 of those bytes (a little-endian long).
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

    public long bytes() {
        long n = 0;
        for (byte[] b : blocks) {
            n += b.length;
        }
        return n;
    }
}
