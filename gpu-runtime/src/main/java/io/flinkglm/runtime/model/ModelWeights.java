package io.flinkglm.runtime.model;

import org.apache.flink.annotation.Internal;

import java.util.List;

/**
 * All weights of a GLM-4 network, named as in ../shared/glm4/SPEC.md. q, k and v are stored fused
 * (rows {@code [q | k | v]}, as the original checkpoint's {@code query_key_value}) so one pass over
 * the weights produces all three projections. Matrices are row-major, as loaded; a backend that
 * wants its own layout builds it from them ({@link Matrix#laidOut}).
 */
@Internal
public record ModelWeights(
        Matrix embed,              // [vocab, hidden]
        List<Layer> layers,
        float[] finalNorm,         // [hidden]
        Matrix lmHead) {           // [vocab, hidden]

    public ModelWeights {
        layers = List.copyOf(layers);
    }

    /** One decoder layer. */
    public record Layer(
            float[] inputNorm,     // [hidden]
            Matrix qkv,            // [qDim + 2 * kvDim, hidden]
            float[] qkvBias,       // [qDim + 2 * kvDim]
            Matrix o,              // [hidden, qDim]
            float[] postNorm,      // [hidden]
            Matrix gateUp,         // [2 * intermediate, hidden], gate rows first
            Matrix down) {         // [hidden, intermediate]
    }

    /**
     * A fingerprint of the weights: every matrix's {@link Matrix#sampleFingerprint()} and every norm and
     * bias in full. KV computed by other weights of the same shape (a fine-tuned checkpoint) is told apart.
     */
    public long fingerprint() {
        long h = Fnv1a.mix(Fnv1a.mix(Fnv1a.OFFSET, embed.sampleFingerprint()), lmHead.sampleFingerprint());
        h = mixAll(h, finalNorm);
        for (Layer l : layers) {
            for (Matrix m : List.of(l.qkv(), l.o(), l.gateUp(), l.down())) {
                h = Fnv1a.mix(h, m.sampleFingerprint());
            }
            h = mixAll(mixAll(mixAll(h, l.inputNorm()), l.postNorm()), l.qkvBias());
        }
        return h;
    }

    private static long mixAll(long h, float[] values) {
        for (float v : values) {
            h = Fnv1a.mix(h, Float.floatToRawIntBits(v));
        }
        return h;
    }

    /** Bytes of weights streamed per decode step (embedding row reads excluded: one row per token). */
    public long bytesPerToken() {
        long n = lmHead.bytes() + 4L * finalNorm.length;
        for (Layer l : layers) {
            n += l.qkv().bytes() + l.o().bytes() + l.gateUp().bytes() + l.down().bytes()
                    + 4L * (l.inputNorm().length + l.postNorm().length + l.qkvBias().length);
        }
        return n;
    }
}
