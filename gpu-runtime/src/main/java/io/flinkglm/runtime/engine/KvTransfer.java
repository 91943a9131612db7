package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.model.ModelConfig;
import org.apache.flink.annotation.Internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;

/**
 * The bytes a request's KV travels in between engines (and in the Flink operator's keyed state).
 * Little-endian:
 * <pre>
 *   int   magic 'GKV1'            int  format version (1)
 *   long  model fingerprint       int  block size        int  token count n
 *   int[n] token ids (the positions the KV covers)
 *   per block j of ceil(n / blockSize): KvCache.exportBlock of min(blockSize, n - j*blockSize) positions
 *   long  CRC32 of everything before it
 * </pre>
 * The fingerprint is derived from the {@link ModelConfig}, so KV from another model shape is
 * refused with a message instead of producing garbage.
 *
 * <pre>{@code
 * byte[] kv = result.kv();                          // from a request built with exportKv(true)
 * GenerationRequest next = GenerationRequest.builder(id, historyPlusNewTurn).importedKv(kv).build();
 * }</pre>
 */
@Internal
public final class KvTransfer {
    static final int MAGIC = 0x314B5647; // "GKV1" read as little-endian bytes
    static final int VERSION = 1;
    private static final int HEADER_BYTES = 4 + 4 + 8 + 4 + 4;

    private KvTransfer() {}

    /** Parsed and checked KV bytes: the tokens they cover and where each block's data starts. */
    record Imported(byte[] bytes, int[] tokens, int blockSize, int[] blockOffsets) {
        int blockTokens(int block) {
            return Math.min(blockSize, tokens.length - block * blockSize);
        }
    }

    /** A fingerprint of the model shape: equal configs give equal values across JVMs. */
    public static long fingerprint(ModelConfig c) {
        String shape = c.hiddenSize() + "/" + c.numLayers() + "/" + c.numHeads() + "/" + c.numKvHeads() + "/"
                + c.headDim() + "/" + c.intermediateSize() + "/" + c.vocabSize() + "/" + c.ropeTheta() + "/"
                + c.partialRotaryFactor() + "/" + c.rmsNormEps();
        return Fnv1a.hash64(shape);
    }

    /** Writes the KV of {@code tokens} (positions 0..n-1) held in {@code blockTable}. */
    static byte[] export(ModelConfig config, KvCache kv, int[] tokens, int[] blockTable) {
        int bs = kv.blockSize();
        int blocks = (tokens.length + bs - 1) / bs;
        long size = HEADER_BYTES + 4L * tokens.length + 8;
        for (int j = 0; j < blocks; j++) {
            size += kv.exportBytes(Math.min(bs, tokens.length - j * bs));
        }
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalStateException("KV export of " + tokens.length + " tokens needs " + size
                    + " bytes, more than one Java array holds");
        }
        ByteBuffer out = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(MAGIC).putInt(VERSION).putLong(fingerprint(config)).putInt(bs).putInt(tokens.length);
        for (int t : tokens) {
            out.putInt(t);
        }
        for (int j = 0; j < blocks; j++) {
            kv.exportBlock(blockTable[j], Math.min(bs, tokens.length - j * bs), out);
        }
        CRC32 crc = new CRC32();
        crc.update(out.array(), 0, out.position());
        out.putLong(crc.getValue());
        return out.array();
    }

    /** Checks bytes against this engine's model and block layout; throws with the reason when they do not fit. */
    static Imported parse(byte[] bytes, ModelConfig config, KvCache kv) {
        if (bytes.length < HEADER_BYTES + 8) {
            throw new IllegalArgumentException("imported KV is " + bytes.length + " bytes, shorter than its "
                    + (HEADER_BYTES + 8) + "-byte header and checksum: not KV exported by this engine");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int magic = in.getInt();
        if (magic != MAGIC) {
            throw new IllegalArgumentException(String.format(
                    "imported KV starts with 0x%08x, not the KV magic 0x%08x: not KV exported by this engine", magic, MAGIC));
        }
        int version = in.getInt();
        if (version != VERSION) {
            throw new IllegalArgumentException("imported KV has format version " + version
                    + " but this engine reads version " + VERSION);
        }
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, bytes.length - 8);
        long stored = ByteBuffer.wrap(bytes, bytes.length - 8, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (crc.getValue() != stored) {
            throw new IllegalArgumentException("imported KV of " + bytes.length
                    + " bytes fails its checksum: the bytes were truncated or corrupted");
        }
        long fingerprint = in.getLong();
        if (fingerprint != fingerprint(config)) {
            throw new IllegalArgumentException(String.format("imported KV was exported by a different model"
                    + " (fingerprint %016x, this model's is %016x); drop it and prefill the history again",
                    fingerprint, fingerprint(config)));
        }
        int bs = in.getInt();
        if (bs != kv.blockSize()) {
            throw new IllegalArgumentException("imported KV uses blocks of " + bs + " tokens but this engine's are "
                    + kv.blockSize() + "; build the engine with blockSize(" + bs + ")");
        }
        int n = in.getInt();
        if (n <= 0 || n > (bytes.length - HEADER_BYTES) / 4) {
            throw new IllegalArgumentException("imported KV claims " + n + " tokens, impossible in "
                    + bytes.length + " bytes");
        }
        int[] tokens = new int[n];
        for (int i = 0; i < n; i++) {
            tokens[i] = in.getInt();
            if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("imported KV token " + i + " is id " + tokens[i]
                        + ", outside the vocabulary of " + config.vocabSize());
            }
        }
        int blocks = (n + bs - 1) / bs;
        int[] offsets = new int[blocks];
        long at = in.position();
        for (int j = 0; j < blocks; j++) {
            offsets[j] = (int) at;
            at += kv.exportBytes(Math.min(bs, n - j * bs));
        }
        if (at + 8 != bytes.length) {
            throw new IllegalArgumentException("imported KV of " + n + " tokens should be " + (at + 8)
                    + " bytes for this model but is " + bytes.length);
        }
        return new Imported(bytes, tokens, bs, offsets);
    }

    /** Copies block {@code j} of the imported bytes into KV block {@code target}. */
    static void importBlock(Imported imported, int j, KvCache kv, int target) {
        ByteBuffer in = ByteBuffer.wrap(imported.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        in.position(imported.blockOffsets()[j]);
        kv.importBlock(target, imported.blockTokens(j), in);
    }
}
