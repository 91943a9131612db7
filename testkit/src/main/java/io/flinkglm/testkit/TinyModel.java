package io.flinkglm.testkit;

import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.ModelConfig;
import io.flinkglm.runtime.model.RandomCheckpoint;
import io.flinkglm.runtime.tokenizer.SyntheticTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The tiny random GLM-4 checkpoint (2 layers, hidden 64, vocabulary 1,024) with its synthetic tokenizer, as
 * files a job loads like any model: fast enough on a CPU that a job of dozens of turns takes seconds, and
 * deterministic under greedy sampling, so the same seed gives the same answers. Its answers are nonsense, and
 * it never stops on its own: cap {@code glm.max-tokens}.
 *
 * <pre>{@code
 * Path model = TinyModel.write(tempDir.resolve("model"), DType.BF16, 13);
 * config.set(GlmOptions.MODEL_PATH, model.toString());
 * }</pre>
 */
public final class TinyModel {

    /** The shape of the checkpoint, as {@link RandomCheckpoint#preset} names it. */
    private static final String PRESET = "tiny";

    private TinyModel() {}

    /** Writes the checkpoint (one shard of {@code dtype} weights drawn from {@code seed}) and its tokenizer. */
    public static Path write(Path dir, DType dtype, long seed) throws IOException {
        ModelConfig config = RandomCheckpoint.preset(PRESET, dtype);
        RandomCheckpoint.write(dir, config, dtype, 1, seed, null);
        SyntheticTokenizer.write(dir, config.vocabSize());
        return dir;
    }

    /** Whether {@code dir} already holds a model: a checkpoint's {@code config.json}. */
    public static boolean isPresent(Path dir) {
        return Files.exists(dir.resolve("config.json"));
    }
}
