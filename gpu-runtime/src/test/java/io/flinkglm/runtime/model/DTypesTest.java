package io.flinkglm.runtime.model;

import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.backend.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** F32, F16 and BF16 checkpoints of the same network load to the same model, within their rounding. */
class DTypesTest {

    @Test
    void halfConversionRoundTripsEveryHalfValue() {
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = DType.f16ToFloat((short) bits);
            if (!Float.isNaN(f)) {
                assertThat(DType.floatToF16(f) & 0xffff).as("half 0x%04x", bits).isEqualTo(bits);
            }
        }
        assertThat(DType.f16ToFloat(DType.floatToF16(1.0f / 3))).isCloseTo(1.0f / 3, within(1e-3f));
        assertThat(DType.bf16ToFloat(DType.floatToBf16(1.0f / 3))).isCloseTo(1.0f / 3, within(2e-3f));
    }

    @Test
    void sameWeightsInEveryDtypeGiveCloseLogits(@TempDir Path dir) throws Exception {
        float[] f32 = logits(write(dir.resolve("f32"), DType.F32));
        float[] f16 = logits(write(dir.resolve("f16"), DType.F16));
        float[] bf16 = logits(write(dir.resolve("bf16"), DType.BF16));

        assertThat(maxRelative(f16, f32)).isLessThan(1e-2);
        assertThat(maxRelative(bf16, f32)).isLessThan(5e-2);
        assertThat(Glm4Model.load(dir.resolve("bf16")).weights().lmHead().isBf16()).isTrue();
        assertThat(Glm4Model.load(dir.resolve("f16")).weights().lmHead().isBf16()).isFalse();
    }

    @Test
    void generationConfigSuppliesSamplingDefaults(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("generation_config.json"),
                "{\"do_sample\": true, \"temperature\": 0.8, \"top_p\": 0.8, \"max_new_tokens\": 99,"
                        + " \"eos_token_id\": [151329, 151336, 151338]}");

        GenerationDefaults d = GenerationDefaults.read(dir);

        assertThat(d.temperature()).isEqualTo(0.8);
        assertThat(d.topP()).isEqualTo(0.8);
        assertThat(d.maxNewTokens()).isEqualTo(99);
        assertThat(d.eosTokenIds()).containsExactly(151329, 151336, 151338);
        assertThat(GenerationDefaults.read(dir.resolve("absent"))).isEqualTo(GenerationDefaults.NONE);
    }

    private static Path write(Path dir, DType dtype) throws Exception {
        RandomCheckpoint.write(dir, RandomCheckpoint.preset("tiny", dtype), dtype, 2, 77, null);
        return dir;
    }

    private static float[] logits(Path dir) throws Exception {
        CpuBackend backend = new CpuBackend(Glm4Model.load(dir));
        try (KvCache kv = backend.newKvCache(1, 8)) {
            return backend.forwardLogits(kv, List.of(new SequenceChunk(new int[] {4, 8, 15, 16, 23, 42}, 0, new int[] {0}, false)))[0][0];
        }
    }

    private static double maxRelative(float[] a, float[] b) {
        double diff = 0;
        double ref = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            ref = Math.max(ref, Math.abs(b[i]));
        }
        return diff / ref;
    }
}
