package io.flinkglm.runtime.testing;

import io.flinkglm.runtime.model.GenerationDefaults;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.model.Matrix;
import io.flinkglm.runtime.model.ModelConfig;
import io.flinkglm.runtime.model.ModelWeights;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random GLM-4 networks built in memory, for tests and benchmarks that need a model of a given
 * shape but not a trained one. The same config and seed always give the same weights.
 *
 * <pre>{@code
 * Glm4Model model = TinyModels.random(TinyModels.config(64, 2, 4, 2, 16, 256), 42);
 * }</pre>
 */
public final class TinyModels {
    /** Standard deviation of the weights, as transformers' {@code initializer_range}. */
    private static final double STD = 0.02;

    private TinyModels() {}

    /** An HF-layout config: intermediate = 2 * hidden, 4,096 positions, half the head rotates. */
    public static ModelConfig config(int hidden, int layers, int heads, int kvHeads, int headDim, int vocab) {
        return new ModelConfig(ModelConfig.Layout.HF, hidden, layers, heads, kvHeads, headDim, 2 * hidden,
                vocab, 4096, 10000.0, 0.5, 1e-5, List.of(), "float32");
    }

    /** The engine tests' model: hidden 64, 2 layers, 4 heads over 2 KV heads of 16, vocab 256. */
    public static Glm4Model small(long seed) {
        return random(config(64, 2, 4, 2, 16, 256), seed);
    }

    /** f32 weights ~ N(0, 0.02), norms 1 (so the residual stream is not flattened), biases ~ N(0, 0.02). */
    public static Glm4Model random(ModelConfig c, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int h = c.hiddenSize();
        int qkv = c.qDim() + 2 * c.kvDim();
        List<ModelWeights.Layer> layers = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            layers.add(new ModelWeights.Layer(
                    ones(h),
                    matrix(rnd, qkv, h),
                    gaussian(rnd, qkv),
                    matrix(rnd, h, c.qDim()),
                    ones(h),
                    matrix(rnd, 2 * c.intermediateSize(), h),
                    matrix(rnd, h, c.intermediateSize())));
        }
        // The embedding is drawn at unit scale so a random network's logits still depend on its input.
        float[] embed = new float[c.vocabSize() * h];
        for (int i = 0; i < embed.length; i++) {
            embed[i] = (float) rnd.nextGaussian();
        }
        ModelWeights w = new ModelWeights(Matrix.ofFloats(c.vocabSize(), h, embed), layers, ones(h),
                matrix(rnd, c.vocabSize(), h));
        return new Glm4Model(null, c, w, GenerationDefaults.NONE);
    }

    private static Matrix matrix(SplittableRandom rnd, int rows, int cols) {
        return Matrix.ofFloats(rows, cols, gaussian(rnd, rows * cols));
    }

    private static float[] gaussian(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rnd.nextGaussian() * STD);
        }
        return v;
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }
}
