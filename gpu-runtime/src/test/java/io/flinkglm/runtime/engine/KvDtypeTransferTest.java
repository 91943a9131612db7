package io.flinkglm.runtime.engine;

import static io.flinkglm.runtime.engine.ReferenceGeneration.concat;
import static io.flinkglm.runtime.engine.ReferenceGeneration.prompt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.backend.cpu.CpuBackend;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.testing.TinyModels;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

/**
 * KV whose values are bf16 (what a bf16 device cache exports) imported into the float32 CPU cache, KV in
 * the format written before the dtype existed, and corrupt dtype fields, on the whole-sequence export and
 * on the per-block snapshot.
 */
class KvDtypeTransferTest {
    private static final int VOCAB = 256;
    private static final int BLOCK = 16;
    private static final Backend BACKEND = new CpuBackend(TinyModels.small(1));
    private static final int[] PROMPT = prompt(5, 37, VOCAB); // three blocks, the last partial
    private static final int[] TABLE = {0, 1, 2, 3};
    private static final int STEPS = 6;
    /**
     * bf16 keeps 8 significant bits, so rounding moves each K and V value by at most 2^-9 of itself. On
     * this tiny random model (logits within +-0.57) the next-token logits moved by 4.7e-6 at most over these
     * steps; 1e-4 leaves 20x room and still catches values read in the wrong dtype, which are garbage.
     * (CudaCheck's GPU-against-CPU bound on real shapes is 2e-2.)
     */
    private static final float LOGIT_TOLERANCE = 1e-4f;

    @Test
    void bf16KvImportsWidenedAndDecodesAsTheFloat32KvWithinTolerance() throws Exception {
        byte[] f32 = export();
        byte[] bf16 = KvTransfer.withDtype(f32, DType.BF16);
        assertThat(bf16.length).as("bf16 values take half the bytes").isLessThan(f32.length);

        try (KvCache fromF32 = imported(KvTransfer.parse(f32, BACKEND.model(), cache()));
             KvCache fromBf16 = imported(KvTransfer.parse(bf16, BACKEND.model(), cache()))) {
            assertThat(KvTransfer.export(BACKEND.model(), fromBf16, PROMPT, TABLE))
                    .as("bf16 widened exactly: the cache holds the rounded values and nothing else")
                    .isEqualTo(KvTransfer.withDtype(bf16, DType.F32));
            Decoded exact = decode(fromF32);
            Decoded rounded = decode(fromBf16);
            float worst = 0;
            for (int s = 0; s < STEPS; s++) {
                for (int i = 0; i < VOCAB; i++) {
                    worst = Math.max(worst, Math.abs(exact.logits.get(s)[i] - rounded.logits.get(s)[i]));
                }
            }
            assertThat(worst).as("logits after a bf16 import differ (the values were rounded), within tolerance")
                    .isGreaterThan(0f).isLessThanOrEqualTo(LOGIT_TOLERANCE);
            assertThat(rounded.tokens).as("greedy tokens").containsExactly(exact.tokens);
        }

        // The same through the engine: a request importing bf16 KV prefills only its new token and decodes on.
        SamplingParams greedy = SamplingParams.builder().temperature(0).maxTokens(STEPS).build();
        GenerationResult fromF32 = generate(GenerationRequest.builder("a", concat(PROMPT, new int[] {9}))
                .sampling(greedy).importedKv(f32).build());
        GenerationResult fromBf16 = generate(GenerationRequest.builder("b", concat(PROMPT, new int[] {9}))
                .sampling(greedy).importedKv(bf16).build());
        assertThat(fromBf16.cachedPromptTokens()).isEqualTo(PROMPT.length);
        assertThat(fromBf16.outputTokens()).containsExactly(fromF32.outputTokens());
    }

    @Test
    void kvWrittenBeforeTheDtypeFieldImportsByteForByteAsFloat32() {
        byte[] v2 = export();
        assertThat(Arrays.copyOf(v2, 12)).as("magic 0x314B5647, version 2, dtype code 1 (F32)")
                .containsExactly(0x47, 0x56, 0x4B, 0x31, 2, 0, 0, 0, 1, 0, 0, 0);
        byte[] v1 = versionOne(v2);

        try (KvCache fromV1 = imported(KvTransfer.parse(v1, BACKEND.model(), cache()))) {
            assertThat(KvTransfer.export(BACKEND.model(), fromV1, PROMPT, TABLE)).isEqualTo(v2);
        }
        assertThat(KvTransfer.withDtype(v1, DType.F32)).as("re-encoding version 1 only adds the dtype field")
                .isEqualTo(v2);
    }

    @Test
    void snapshotBlocksOfOldMixedAndBf16DtypesImport() {
        KvSnapshot f32 = snapshot();
        KvSnapshot bf16 = f32.withDtype(DType.BF16);
        assertThat(f32.blockDtype(0)).isEqualTo(DType.F32);
        assertThat(bf16.blockDtype(2)).isEqualTo(DType.BF16);
        List<byte[]> old = new ArrayList<>();
        for (byte[] block : f32.blocks()) {
            old.add(untagged(block));
        }
        KvSnapshot before = new KvSnapshot(f32.fingerprint(), BLOCK, PROMPT, 0, old);
        assertThat(before.blockDtype(1)).as("an untagged block is float32").isEqualTo(DType.F32);
        // Kept by a CPU engine before the change, then one block written by a bf16 cache, then one by a tagged f32 one.
        KvSnapshot mixed = new KvSnapshot(f32.fingerprint(), BLOCK, PROMPT, 0,
                List.of(old.get(0), bf16.blocks().get(1), f32.blocks().get(2)));

        byte[] expected = export();
        byte[] bf16Widened = KvTransfer.withDtype(KvTransfer.withDtype(expected, DType.BF16), DType.F32);
        try (KvCache fromOld = imported(KvTransfer.parse(before, BACKEND.model(), cache()));
             KvCache fromTagged = imported(KvTransfer.parse(f32, BACKEND.model(), cache()));
             KvCache fromBf16 = imported(KvTransfer.parse(bf16, BACKEND.model(), cache()));
             KvCache fromMixed = imported(KvTransfer.parse(mixed, BACKEND.model(), cache()))) {
            assertThat(KvTransfer.export(BACKEND.model(), fromOld, PROMPT, TABLE)).isEqualTo(expected);
            assertThat(KvTransfer.export(BACKEND.model(), fromTagged, PROMPT, TABLE)).isEqualTo(expected);
            assertThat(KvTransfer.export(BACKEND.model(), fromBf16, PROMPT, TABLE)).isEqualTo(bf16Widened);
            byte[] mixedBytes = KvTransfer.export(BACKEND.model(), fromMixed, PROMPT, TABLE);
            int block0End = 28 + 4 * PROMPT.length + BACKEND.newKvCache(1, BLOCK).exportBytes(BLOCK);
            int block1End = block0End + BACKEND.newKvCache(1, BLOCK).exportBytes(BLOCK);
            assertThat(Arrays.copyOfRange(mixedBytes, block0End, block1End)).as("the bf16 block, widened")
                    .isEqualTo(Arrays.copyOfRange(bf16Widened, block0End, block1End));
            assertThat(Arrays.copyOfRange(mixedBytes, 0, block0End)).isEqualTo(Arrays.copyOfRange(expected, 0, block0End));
            assertThat(Arrays.copyOfRange(mixedBytes, block1End, mixedBytes.length - 8))
                    .isEqualTo(Arrays.copyOfRange(expected, block1End, expected.length - 8));
        }
    }

    @Test
    void aCorruptDtypeFieldIsRefusedNamingTheField() {
        byte[] whole = export();
        byte[] unknown = whole.clone();
        unknown[8] = 7;
        assertThatThrownBy(() -> KvTransfer.parse(unknown, BACKEND.model(), cache()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("dtype field (bytes 8..11) holds 7");
        byte[] swapped = whole.clone();
        swapped[8] = 2; // a valid code, but not what was written: the checksum covers the header
        assertThatThrownBy(() -> KvTransfer.parse(swapped, BACKEND.model(), cache()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("checksum");

        KvSnapshot snapshot = snapshot();
        for (int code : new int[] {9, 2, 0}) {
            List<byte[]> blocks = new ArrayList<>(snapshot.blocks());
            byte[] broken = blocks.get(1).clone();
            broken[broken.length - 4] = (byte) code;
            blocks.set(1, broken);
            KvSnapshot corrupt = new KvSnapshot(snapshot.fingerprint(), BLOCK, PROMPT, 0, blocks);
            assertThatThrownBy(() -> KvTransfer.parse(corrupt, BACKEND.model(), cache()))
                    .as("dtype code %d in block 1", code)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("block 1")
                    .hasMessageContaining(code == 9 ? "dtype field (trailer bytes 4..7) holds 9"
                            : code == 2 ? "BF16 block of its tokens" : "checksum");
        }
    }

    /** The f32 KV of {@link #PROMPT} prefilled on the CPU backend, as the engine exports it. */
    private static byte[] export() {
        try (KvCache kv = prefilled()) {
            return KvTransfer.export(BACKEND.model(), kv, PROMPT, TABLE);
        }
    }

    private static KvSnapshot snapshot() {
        try (KvCache kv = prefilled()) {
            return KvTransfer.snapshot(BACKEND.model(), kv, PROMPT, TABLE, 0);
        }
    }

    private static KvCache prefilled() {
        KvCache kv = cache();
        BACKEND.forwardLogits(kv, List.of(new SequenceChunk(PROMPT, 0, TABLE, false)));
        return kv;
    }

    private static KvCache cache() {
        return BACKEND.newKvCache(TABLE.length, BLOCK);
    }

    private static KvCache imported(KvTransfer.Imported kv) {
        KvCache cache = cache();
        for (int j = 0; j < kv.blocks().size(); j++) {
            KvTransfer.importBlock(kv, j, cache, TABLE[j]);
        }
        return cache;
    }

    private record Decoded(List<float[]> logits, int[] tokens) {}

    /** Greedy steps from the imported KV of {@link #PROMPT}, feeding token 9 first. */
    private static Decoded decode(KvCache kv) {
        List<float[]> logits = new ArrayList<>();
        int[] tokens = new int[STEPS];
        int token = 9;
        for (int s = 0; s < STEPS; s++) {
            float[] step = BACKEND.forwardLogits(kv, List.of(
                    new SequenceChunk(new int[] {token}, PROMPT.length + s, TABLE, false)))[0][0];
            logits.add(step);
            token = 0;
            for (int i = 1; i < step.length; i++) {
                token = step[i] > step[token] ? i : token;
            }
            tokens[s] = token;
        }
        return new Decoded(logits, tokens);
    }

    private static GenerationResult generate(GenerationRequest request) throws Exception {
        try (InferenceEngine engine = InferenceEngine.builder(BACKEND).kvBlocks(16).blockSize(BLOCK).build()) {
            return engine.submit(request).result().get(60, TimeUnit.SECONDS);
        }
    }

    /** Version 1, as written before the dtype field: no dtype field, float32 values, CRC of the rest. */
    private static byte[] versionOne(byte[] v2) {
        ByteBuffer v1 = ByteBuffer.allocate(v2.length - 4).order(ByteOrder.LITTLE_ENDIAN);
        v1.put(v2, 0, 4).putInt(1).put(v2, 12, v2.length - 12 - 8);
        CRC32 crc = new CRC32();
        crc.update(v1.array(), 0, v1.position());
        return v1.putLong(crc.getValue()).array();
    }

    /** A snapshot block as written before the dtype: the values, then their CRC32 as a little-endian long. */
    private static byte[] untagged(byte[] block) {
        ByteBuffer old = ByteBuffer.allocate(block.length).order(ByteOrder.LITTLE_ENDIAN);
        old.put(block, 0, block.length - 8);
        CRC32 crc = new CRC32();
        crc.update(block, 0, block.length - 8);
        return old.putLong(crc.getValue()).array();
    }
}
