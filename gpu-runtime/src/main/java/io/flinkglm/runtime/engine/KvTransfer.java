package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.KvEncoding;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.model.ModelConfig;
import org.apache.flink.annotation.Internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.zip.CRC32;

/**
 * The bytes a request's KV travels in between engines (and in the Flink operator's keyed state).
 * Little-endian, format version 2:
 * <pre>
 *   int   magic 0x314B5647        int  format version (2)      int  dtype code (1 = F32, 2 = BF16)
 *   long  model fingerprint       int  block size              int  token count n
 *   int[n] token ids (the positions the KV covers)
 *   per block j of ceil(n / blockSize): KvCache.exportBlock of min(blockSize, n - j*blockSize) positions,
 *                                       its values in the header's dtype
 *   long  CRC32 of everything before it
 * </pre>
 * Version 1 (written before the dtype field existed) has no dtype field and float32 values; it is still
 * read, as F32. The values are in the exporting cache's dtype ({@link KvCache#dtype()}); an engine whose
 * cache holds another dtype converts on import ({@link KvEncoding}): bf16 into a float32 cache widens
 * exactly, float32 into a bf16 cache rounds to nearest even. A dtype code no writer uses is refused,
 * naming the field; one changed to another valid code fails the checksum, which covers the header.
 *
 * <p>The fingerprint is {@link Glm4Model#fingerprint()}, of the shape and the weights, so KV from another
 * model (another shape, or a fine-tune of the same shape) is refused with a message instead of producing
 * garbage. The same blocks also travel one by one as a {@link KvSnapshot}, each block tagged with its own
 * dtype in its trailer.
 *
 * <pre>{@code
 * byte[] kv = result.kv();                          // from a request built with exportKv(true)
 * GenerationRequest next = GenerationRequest.builder(id, historyPlusNewTurn).importedKv(kv).build();
 * }</pre>
 */
@Internal
public final class KvTransfer {
    static final int MAGIC = 0x314B5647; // bytes 'G' 'V' 'K' '1' on the wire (little-endian)
    static final int VERSION = 2;        // 2 added the dtype field; 1 is float32 without it
    private static final int HEADER_BYTES = 4 + 4 + 4 + 8 + 4 + 4;
    private static final int V1_HEADER_BYTES = HEADER_BYTES - 4;
    private static final int DTYPE_AT = 8; // byte offset of the version-2 dtype field

    private KvTransfer() {}

    /** Checked KV to import: the tokens it covers and each block's data, positioned at its start, in its dtype. */
    record Imported(int[] tokens, int blockSize, List<ByteBuffer> blocks, List<DType> dtypes) {
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
        out.putInt(MAGIC).putInt(VERSION).putInt(KvEncoding.code(kv.dtype()))
                .putLong(fingerprint(model)).putInt(bs).putInt(tokens.length);
        for (int t : tokens) {
            out.putInt(t);
        }
        for (int j = 0; j < blocks; j++) {
            kv.exportBlock(blockTable[j], Math.min(bs, tokens.length - j * bs), out);
        }
        out.putLong(crc(out.array(), out.position()));
        return out.array();
    }

    /**
     * The same KV with its values in {@code dtype} (rounded to nearest even, or widened exactly), as
     * version 2: what an engine with a cache of that dtype would have exported. Needs no model.
     */
    public static byte[] withDtype(byte[] kv, DType dtype) {
        Header h = header(kv);
        int tokensEnd = h.bytes + 4 * h.tokens;
        if (h.tokens <= 0 || tokensEnd > kv.length - 8) {
            throw new IllegalArgumentException("KV claims " + h.tokens + " tokens, impossible in " + kv.length + " bytes");
        }
        int payload = kv.length - 8 - tokensEnd;
        if (payload % h.dtype.bytes() != 0) {
            throw new IllegalArgumentException("KV of " + h.dtype + " values has " + payload + " bytes of them");
        }
        ByteBuffer values = KvEncoding.convert(ByteBuffer.wrap(kv, tokensEnd, payload), h.dtype, dtype,
                payload / h.dtype.bytes());
        ByteBuffer out = ByteBuffer.allocate(HEADER_BYTES + 4 * h.tokens + values.remaining() + 8)
                .order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(MAGIC).putInt(VERSION).putInt(KvEncoding.code(dtype))
                .put(kv, h.bytes - 16, 16 + 4 * h.tokens) // fingerprint, block size, n, token ids
                .put(values);
        out.putLong(crc(out.array(), out.position()));
        return out.array();
    }

    /** What the fixed header says: format version, its length, the values' dtype, and the token count. */
    private record Header(int version, int bytes, DType dtype, int tokens) {}

    /** Reads and checks magic, version, dtype field and checksum; throws with the reason when one is wrong. */
    private static Header header(byte[] bytes) {
        if (bytes.length < V1_HEADER_BYTES + 8) {
            throw new IllegalArgumentException("imported KV is " + bytes.length + " bytes, shorter than its "
                    + (V1_HEADER_BYTES + 8) + "-byte header and checksum: not KV exported by this engine");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int magic = in.getInt();
        if (magic != MAGIC) {
            throw new IllegalArgumentException(String.format(
                    "imported KV starts with 0x%08x, not the KV magic 0x%08x: not KV exported by this engine", magic, MAGIC));
        }
        int version = in.getInt();
        if (version != 1 && version != VERSION) {
            throw new IllegalArgumentException("imported KV has format version " + version
                    + " but this engine reads versions 1 and " + VERSION);
        }
        int headerBytes = version == 1 ? V1_HEADER_BYTES : HEADER_BYTES;
        if (bytes.length < headerBytes + 8) {
            throw new IllegalArgumentException("imported KV is " + bytes.length + " bytes, shorter than its "
                    + (headerBytes + 8) + "-byte header and checksum");
        }
        DType dtype = version == 1 ? DType.F32
                : KvEncoding.dtype(in.getInt(DTYPE_AT), "imported KV's dtype field (bytes 8..11)");
        long stored = ByteBuffer.wrap(bytes, bytes.length - 8, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (crc(bytes, bytes.length - 8) != stored) {
            throw new IllegalArgumentException("imported KV of " + bytes.length
                    + " bytes fails its checksum: the bytes were truncated or corrupted");
        }
        return new Header(version, headerBytes, dtype, in.getInt(headerBytes - 4));
    }

    /** Checks bytes against this engine's model and block layout; throws with the reason when they do not fit. */
    static Imported parse(byte[] bytes, Glm4Model model, KvCache kv) {
        ModelConfig config = model.config();
        Header h = header(bytes);
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).position(h.bytes - 16);
        long fingerprint = in.getLong();
        checkFits(fingerprint, in.getInt(), model, kv);
        int bs = kv.blockSize();
        int n = in.getInt();
        if (n <= 0 || n > (bytes.length - h.bytes) / 4) {
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
            int size = values(kv, Math.min(bs, n - j * bs)) * h.dtype.bytes();
            if (at + size + 8 > bytes.length) {
                break;
            }
            data.add(ByteBuffer.wrap(bytes, (int) at, size).slice().order(ByteOrder.LITTLE_ENDIAN));
            at += size;
        }
        if (data.size() != blocks || at + 8 != bytes.length) {
            throw new IllegalArgumentException("imported KV of " + n + " tokens does not have the size this model's"
                    + " blocks need in " + h.dtype + ": " + bytes.length + " bytes");
        }
        return new Imported(tokens, bs, data, Collections.nCopies(blocks, h.dtype));
    }

    /** The blocks {@code from ..} of a sequence's KV, each with its dtype and CRC32, for a {@link KvSnapshot}. */
    static KvSnapshot snapshot(Glm4Model model, KvCache kv, int[] tokens, int[] blockTable, int from) {
        int bs = kv.blockSize();
        int blocks = KvSnapshot.blockCount(tokens.length, bs);
        int first = Math.min(from, blocks);
        List<byte[]> out = new ArrayList<>(blocks - first);
        for (int j = first; j < blocks; j++) {
            int n = Math.min(bs, tokens.length - j * bs);
            ByteBuffer block = ByteBuffer.allocate(kv.exportBytes(n) + 8).order(ByteOrder.LITTLE_ENDIAN);
            kv.exportBlock(blockTable[j], n, block);
            out.add(sealBlock(block.array(), kv.dtype()));
        }
        return new KvSnapshot(fingerprint(model), bs, tokens.clone(), first, out);
    }

    /**
     * Writes a snapshot block's trailer over its last 8 bytes: the CRC32 of the values and then of the
     * dtype code, and the dtype code (two little-endian ints). Returns the block.
     */
    static byte[] sealBlock(byte[] block, DType dtype) {
        int values = block.length - 8;
        ByteBuffer trailer = ByteBuffer.wrap(block, values, 8).order(ByteOrder.LITTLE_ENDIAN);
        trailer.putInt(values + 4, KvEncoding.code(dtype));
        trailer.putInt(values, (int) blockCrc(block, values, true));
        return block;
    }

    /**
     * The dtype of a snapshot block's values, from its trailer: the high int of the trailer long, which
     * blocks written before the dtype existed leave 0 (a CRC32 fills only the low int) and which means F32.
     */
    static DType blockDtype(byte[] block, int j) {
        int code = ByteBuffer.wrap(block, block.length - 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        return code == 0 ? DType.F32
                : KvEncoding.dtype(code, "imported KV block " + j + "'s dtype field (trailer bytes 4..7)");
    }

    /** Throws when a snapshot block's values and dtype code do not match its CRC32. */
    static void checkBlockCrc(byte[] block, int j) {
        ByteBuffer trailer = ByteBuffer.wrap(block, block.length - 8, 8).order(ByteOrder.LITTLE_ENDIAN);
        boolean tagged = trailer.getInt(block.length - 4) != 0;
        long stored = trailer.getInt(block.length - 8) & 0xFFFFFFFFL;
        if (blockCrc(block, block.length - 8, tagged) != stored) {
            throw new IllegalArgumentException("imported KV block " + j + " fails its checksum: truncated or corrupted");
        }
    }

    /** CRC32 of a block's values, then of its dtype code when it has one ({@code tagged}). */
    private static long blockCrc(byte[] block, int values, boolean tagged) {
        CRC32 crc = new CRC32();
        crc.update(block, 0, values);
        if (tagged) {
            crc.update(block, values + 4, 4);
        }
        return crc.getValue();
    }

    private static long crc(byte[] bytes, int length) {
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, length);
        return crc.getValue();
    }

    /** Elements (not bytes) of K and V that a block of {@code tokens} positions exports. */
    static int values(KvCache kv, int tokens) {
        return kv.exportBytes(tokens) / kv.dtype().bytes();
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
        List<DType> dtypes = new ArrayList<>(snapshot.blocks().size());
        for (int j = 0; j < snapshot.blocks().size(); j++) {
            byte[] block = snapshot.blocks().get(j);
            if (block == null || block.length < 8) {
                throw new IllegalArgumentException("imported KV block " + j + " is "
                        + (block == null ? "missing" : block.length + " bytes, shorter than its trailer"));
            }
            DType dtype = blockDtype(block, j);
            int size = values(kv, Math.min(bs, tokens.length - j * bs)) * dtype.bytes();
            if (block.length != size + 8) {
                throw new IllegalArgumentException("imported KV block " + j + " is " + block.length
                        + " bytes but this model's " + dtype + " block of its tokens is " + (size + 8));
            }
            checkBlockCrc(block, j);
            data.add(ByteBuffer.wrap(block, 0, size).slice().order(ByteOrder.LITTLE_ENDIAN));
            dtypes.add(dtype);
        }
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= model.config().vocabSize()) {
                throw new IllegalArgumentException("imported KV token " + i + " is id " + tokens[i]
                        + ", outside the vocabulary of " + model.config().vocabSize());
            }
        }
        return new Imported(tokens.clone(), bs, data, dtypes);
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

    /** Copies block {@code j} of the imported KV into KV block {@code target}, converted to the cache's dtype. */
    static void importBlock(Imported imported, int j, KvCache kv, int target) {
        int tokens = imported.blockTokens(j);
        ByteBuffer values = KvEncoding.convert(imported.blocks().get(j), imported.dtypes().get(j), kv.dtype(),
                values(kv, tokens));
        kv.importBlock(target, tokens, values);
    }
}
