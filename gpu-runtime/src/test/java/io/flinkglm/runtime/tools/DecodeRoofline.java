package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.model.Matrix;
import io.flinkglm.runtime.model.ModelConfig;
import io.flinkglm.runtime.model.ModelWeights;

/**
 * The least time a decode step can take on a machine whose memory streams {@code bandwidthGbs}
 * and whose matrix product peaks at {@code peakGflops}, both measured in the same run: the step
 * must read its bytes and do its FLOPs, so it takes at least the longer of the two. A measured
 * step's fraction of roofline is that bound over the measured time (1 = at the ceiling).
 *
 * <p>A step of {@code batch} sequences, each one token at {@code context} positions, reads every
 * weight once and each sequence's K and V (float32, as both backends keep them); it does one
 * multiply-add per weight per token, and attention's scores and weighted values.
 *
 * <pre>{@code
 * DecodeRoofline roofline = new DecodeRoofline(25.0, 250.0);
 * double fraction = roofline.fraction(model, 16, 64, stepSeconds);
 * }</pre>
 */
public record DecodeRoofline(double bandwidthGbs, double peakGflops) {
    private static final int KV_BYTES = 4;

    /** Bytes a step reads: the weights once, each sequence's KV over its context. */
    public static long bytes(Glm4Model model, int batch, int context) {
        return model.weights().bytesPerToken() + batch * (context + 1L) * model.config().kvBytesPerToken(KV_BYTES);
    }

    /** FLOPs of a step: two per weight per token, and attention's 4 per query dimension per position. */
    public static double flops(Glm4Model model, int batch, int context) {
        ModelConfig c = model.config();
        ModelWeights w = model.weights();
        long weights = elements(w.lmHead());
        for (ModelWeights.Layer l : w.layers()) {
            weights += elements(l.qkv()) + elements(l.o()) + elements(l.gateUp()) + elements(l.down());
        }
        double attention = 4.0 * c.numLayers() * c.qDim() * (context + 1L);
        return batch * (2.0 * weights + attention);
    }

    /** The bound in seconds: the longer of reading the bytes and doing the FLOPs. */
    public double seconds(Glm4Model model, int batch, int context) {
        return Math.max(bytes(model, batch, context) / (bandwidthGbs * 1e9), flops(model, batch, context) / (peakGflops * 1e9));
    }

    /** The bound over the measured step time. */
    public double fraction(Glm4Model model, int batch, int context, double measuredSeconds) {
        return seconds(model, batch, context) / measuredSeconds;
    }

    private static long elements(Matrix m) {
        return (long) m.rows * m.cols;
    }
}
