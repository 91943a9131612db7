package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.Backends;
import io.flinkglm.runtime.engine.GenerationResult.FinishReason;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.model.RandomCheckpoint;
import io.flinkglm.runtime.model.SafetensorsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A checkpoint that is sound except for one token's embedding row, which is NaN: it passes the
 * probe forward at load (token 0), and then only the requests that meet that token fail.
 */
class NonFiniteLogitsTest {
    private static final int POISONED = 7;

    @TempDir
    Path dir;

    @Test
    void aRequestWhoseLogitsGoNanFailsAloneAndTheEngineServesOn() throws Exception {
        RandomCheckpoint.write(dir, RandomCheckpoint.preset("tiny", DType.F32), DType.F32, 1, 1, null);
        poisonEmbeddingRow(POISONED);
        SamplingParams four = SamplingParams.builder().maxTokens(4).build();

        try (Backend backend = Backends.create("cpu", Glm4Model.load(dir));
             InferenceEngine engine = InferenceEngine.builder(backend).kvBlocks(64).build()) {
            RequestHandle poisoned = engine.submit(GenerationRequest.builder("poisoned", new int[] {1, 2, POISONED, 3})
                    .sampling(four).build());
            RequestHandle healthy = engine.submit(GenerationRequest.builder("healthy", new int[] {1, 2, 4, 3})
                    .sampling(four).build());
            GenerationResult bad = poisoned.result().get(30, TimeUnit.SECONDS);
            GenerationResult good = healthy.result().get(30, TimeUnit.SECONDS);
            GenerationResult after = engine.submit(GenerationRequest.builder("after", new int[] {5, 6})
                    .sampling(four).build()).result().get(30, TimeUnit.SECONDS);

            assertThat(bad.finishReason()).isEqualTo(FinishReason.ERROR);
            assertThat(bad.message()).contains("non-finite logit").contains("choosing the token at position 4").contains(dir.toString());
            assertThat(bad.outputTokens()).isEmpty();
            assertThat(good.finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(good.outputTokens()).hasSize(4);
            assertThat(after.finishReason()).isEqualTo(FinishReason.LENGTH);
        }
    }

    /** Overwrites one row of the f32 embedding with NaN, in place. */
    private void poisonEmbeddingRow(int token) throws IOException {
        Path file = dir.resolve("model.safetensors");
        long begin;
        int hidden;
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            SafetensorsFile.TensorInfo embed = f.info("model.embed_tokens.weight");
            hidden = (int) embed.shape()[1];
            begin = embed.begin() + (long) token * hidden * Float.BYTES;
        }
        ByteBuffer nan = ByteBuffer.allocate(hidden * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        while (nan.hasRemaining()) {
            nan.putFloat(Float.NaN);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.write(nan.flip(), begin);
        }
    }
}
