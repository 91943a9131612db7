package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.backend.HostSampler;
import io.flinkglm.runtime.backend.RowSampling;
import org.apache.flink.annotation.Internal;

import java.util.List;

/**
 * A request's {@link SamplingParams} as the backend's per-row sampling spec, and the host draw for
 * callers that hold logits themselves (tools, tests). The arithmetic is {@link HostSampler}'s:
 * penalty, temperature, top-k, top-p, then a draw keyed by (seed, position), so
 * {@code Sampler.sample(backend.forwardLogits(...)...)} gives the token {@code backend.step}
 * would have drawn.
 *
 * <pre>{@code
 * int token = Sampler.sample(logits, params, promptAndOutputSoFar, promptAndOutputSoFar.length);
 * RowSampling row = Sampler.row(chunkIndex, params, history, position, null, false);
 * }</pre>
 */
@Internal
public final class Sampler {
    private Sampler() {}

    /**
     * @param logits      the next-token logits (not modified)                [vocab]
     * @param history     prompt and output so far, for the repetition penalty
     * @param position    position the drawn token will occupy (usually {@code history.length})
     */
    public static int sample(float[] logits, SamplingParams p, int[] history, int position) {
        return sample(logits, p, history, position, null, false);
    }

    /**
     * As {@link #sample(float[], SamplingParams, int[], int)}, drawing only among {@code allowed}
     * tokens (see {@link HostSampler#sample}).
     *
     * @param allowed     bit set over token ids ({@code allowed[id >>> 6] & (1L << id)}); null: all
     * @param stopAllowed whether a stop token may end the output now (ignored when {@code allowed} is null)
     */
    public static int sample(float[] logits, SamplingParams p, int[] history, int position, long[] allowed,
                             boolean stopAllowed) {
        return sample(logits, p, history, position, allowed, stopAllowed ? p.stopTokenIds() : List.of());
    }

    /**
     * As {@link #sample(float[], SamplingParams, int[], int, long[], boolean)}, with the stop tokens that
     * may end the output now named one by one (a tool call may end only on {@code <|observation|>}, an
     * answer only on the others); the request's other stop tokens are masked.
     */
    public static int sample(float[] logits, SamplingParams p, int[] history, int position, long[] allowed,
                             List<Integer> allowedStops) {
        return HostSampler.sample(logits, row(0, p, history, position, allowed, allowedStops));
    }

    /** The spec a backend draws {@code chunk}'s next token by; every stop token may end it or none. */
    public static RowSampling row(int chunk, SamplingParams p, int[] history, int position, long[] allowed,
                                  boolean stopAllowed) {
        return row(chunk, p, history, position, allowed, stopAllowed ? p.stopTokenIds() : List.of());
    }

    /** The spec a backend draws {@code chunk}'s next token by, where only {@code allowedStops} may end it now. */
    public static RowSampling row(int chunk, SamplingParams p, int[] history, int position, long[] allowed,
                                  List<Integer> allowedStops) {
        return RowSampling.draw(chunk, p.temperature(), p.topK(), p.topP(), p.repetitionPenalty(), p.seed(),
                ids(p.stopTokenIds()), history, position, allowed, ids(allowedStops));
    }

    private static int[] ids(List<Integer> ids) {
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The greedy choice: the first index of the largest logit. */
    public static int argmax(float[] x) {
        return HostSampler.argmax(x);
    }

    /** Softmax over the logits of {@code ids} only: the next-token distribution restricted to them. */
    public static float[] restrictedSoftmax(float[] logits, int[] ids) {
        return HostSampler.restrictedSoftmax(logits, ids);
    }
}
