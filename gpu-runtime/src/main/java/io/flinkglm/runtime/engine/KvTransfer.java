package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.model.ModelConfig;
import org.apache.flink.annotation.Internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
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
 * The fingerprint is {@link Glm4Model#fingerprint()}, of the shape and the weights, so KV from another
 * model (another shape, or a fine-tune of the same shape) is refused with a message instead of producing
 * garbage. The same blocks also travel one by one as a {@link KvSnapshot}.
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

    /** Checked KV to import: the tokens it covers and each block's data, positioned at its start. */
    record Imported(int[] tokens, int blockSize, List<ByteBuffer> blocks) {
        int blockTokens(int block) {
            return Math.min(blockSize, tokens.length - block * blockSize);
        }
    }

    /** The fingerprint KV of {@code model} carries. */
    public static long fingerprint(Glm4Model model) {
        return model.fingerprint();
    }

    /** Writes the KV of {@code tokens} (positions 0..n-1) held in {@code blockTable}. */
    static byte[] export(Glm4Model model, KvCache kv, int[] tokens, int[] blockTable) {
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
        out.putInt(MAGIC).putInt(VERSION).putLong(fingerprint(model)).putInt(bs).putInt(tokens.length);
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
    static Imported parse(byte[] bytes, Glm4Model model, KvCache kv) {
        ModelConfig config = model.config();
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
        checkFits(fingerprint, in.getInt(), model, kv);
        int bs = kv.blockSize();
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
        int blocks = KvSnapshot.blockCount(n, bs);
        List<ByteBuffer> data = new ArrayList<>(blocks);
        long at = in.position();
        for (int j = 0; j < blocks; j++) {
            int size = kv.exportBytes(Math.min(bs, n - j * bs));
            if (at + size + 8 > bytes.length) {
                break;
            }
            data.add(ByteBuffer.wrap(bytes, (int) at, size).slice().order(ByteOrder.LITTLE_ENDIAN));
            at += size;
        }
        if (data.size() != blocks || at + 8 != bytes.length) {
            throw new IllegalArgumentException("imported KV of " + n + " tokens does not have the size this model's"
                    + " blocks need: " + bytes.length + " bytes");
        }
        return new Imported(tokens, bs, data);
    }

    /** The blocks {@code from ..} of a sequence's KV, each followed by its CRC32, for a {@link KvSnapshot}. */
    static KvSnapshot snapshot(Glm4Model model, KvCache kv, int[] tokens, int[] blockTable, int from) {
        int bs = kv.blockSize();
        int blocks = KvSnapshot.blockCount(tokens.length, bs);
        int first = Math.min(from, blocks);
        List<byte[]> out = new ArrayList<>(blocks - first);
        for (int j = first; j < blocks; j++) {
            int n = Math.min(bs, tokens.length - j * bs);
            ByteBuffer block = ByteBuffer.allocate(kv.exportBytes(n) + 8).order(ByteOrder.LITTLE_ENDIAN);
            kv.exportBlock(blockTable[j], n, block);
            CRC32 crc = new CRC32();
            crc.update(block.array(), 0, block.position());
            block.putLong(crc.getValue());
            out.add(block.array());
        }
        return new KvSnapshot(fingerprint(model), bs, tokens.clone(), first, out);
    }

    /** Checks a snapshot (from block 0) against this engine's model and blocks; throws with the reason when it does not fit. */
    static Imported parse(KvSnapshot snapshot, Glm4Model model, KvCache kv) {
        checkFits(snapshot.fingerprint(), snapshot.blockSize(), model, kv);
        if (snapshot.firstBlock() != 0) {
            throw new IllegalArgumentException("imported KV starts at block " + snapshot.firstBlock()
                    + "; an import needs every block from 0");
        }
        int[] tokens = snapshot.tokens();
        int bs = kv.blockSize();
        if (tokens.length == 0) {
            throw new IllegalArgumentException("imported KV covers no tokens");
        }
        List<ByteBuffer> data = new ArrayList<>(snapshot.blocks().size());
        for (int j = 0; j < snapshot.blocks().size(); j++) {
            byte[] block = snapshot.blocks().get(j);
            int size = kv.exportBytes(Math.min(bs, tokens.length - j * bs));
            if (block == null || block.length != size + 8) {
                throw new IllegalArgumentException("imported KV block " + j + " is " + (block == null ? "missing"
                        : block.length + " bytes") + " but this model's block of its tokens is " + (size + 8));
            }
            CRC32 crc = new CRC32();
            crc.update(block, 0, size);
            if (crc.getValue() != ByteBuffer.wrap(block, size, 8).order(ByteOrder.LITTLE_ENDIAN).getLong()) {
                throw new IllegalArgumentException("imported KV block " + j + " fails its checksum: truncated or corrupted");
            }
            data.add(ByteBuffer.wrap(block, 0, size).slice().order(ByteOrder.LITTLE_ENDIAN));
        }
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= model.config().vocabSize()) {
                throw new IllegalArgumentException("imported KV token " + i + " is id " + tokens[i]
                        + ", outside the vocabulary of " + model.config().vocabSize());
            }
        }
        return new Imported(tokens.clone(), bs, data);
    }

    private static void checkFits(long fingerprint, int blockSize, Glm4Model model, KvCache kv) {
        if (fingerprint != fingerprint(model)) {
            throw new IllegalArgumentException(String.format("imported KV was exported by a different model"
                    + " (fingerprint %016x, this model's is %016x); drop it and prefill the history again",
                    fingerprint, fingerprint(model)));
        }
        if (blockSize != kv.blockSize()) {
            throw new IllegalArgumentException("imported KV uses blocks of " + blockSize + " tokens but this engine's are "
                    + kv.blockSize() + "; build the engine with blockSize(" + blockSize + ")");
        }
    }

    /** Copies block {@code j} of the imported KV into KV block {@code target}. */
    static void importBlock(Imported imported, int j, KvCache kv, int target) {
        kv.importBlock(target, imported.blockTokens(j), imported.blocks().get(j).duplicate().order(ByteOrder.LITTLE_ENDIAN));
    }
}
