package io.flinkglm.runtime.model;

import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An immutable GLM-4 network: its config, weights and sampling defaults, shared by every request
 * and every backend. Per-request state (KV, activations) lives elsewhere.
 *
 * <pre>{@code
 * Glm4Model model = Glm4Model.load(Path.of("models/small"));
 * System.out.println(model.config().parameterCount());
 * }</pre>
 */
@PublicEvolving
public record Glm4Model(Path dir, ModelConfig config, ModelWeights weights, GenerationDefaults generation) {

    /**
     * Identifies these weights: the config's shape and {@link ModelWeights#fingerprint()}. KV state is
     * tagged with it, so a conversation never continues from another checkpoint's cache.
     */
    public long fingerprint() {
        ModelConfig c = config;
        String shape = c.hiddenSize() + "/" + c.numLayers() + "/" + c.numHeads() + "/" + c.numKvHeads() + "/"
                + c.headDim() + "/" + c.intermediateSize() + "/" + c.vocabSize() + "/" + c.ropeTheta() + "/"
                + c.partialRotaryFactor() + "/" + c.rmsNormEps();
        return Fnv1a.mix(Fnv1a.hash64(shape), weights.fingerprint());
    }

    public static Glm4Model load(Path dir) throws IOException {
        return load(dir, null);
    }

    /**
     * Loads a model directory, reporting progress as (bytes read, bytes total) when a listener is
     * given. Throws {@link ModelFormatException} naming the file for any defect.
     */
    public static Glm4Model load(Path dir, LoadProgress progress) throws IOException {
        ModelConfig config = ModelConfig.read(dir);
        ModelWeights weights = ModelLoader.load(dir, config, progress);
        return new Glm4Model(dir, config, weights, GenerationDefaults.read(dir));
    }
}
