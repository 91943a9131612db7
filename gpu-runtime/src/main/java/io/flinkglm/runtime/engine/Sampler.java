package io.flinkglm.runtime.engine;

import java.util.Arrays;

/**
 * Turns one position's logits into a token: repetition penalty, temperature, top-k, top-p, then a
 * draw. Stateless: the uniform number for the token that will sit at position {@code p} is
 * {@code SplitMix64(seed, p)}. A recomputed (preempted) request therefore draws exactly the same
 * tokens, and so does a conversation resumed from exported KV whose prompt is the earlier prompt
 * plus its output: its next token sits at the same position, with the same seed, as if it had
 * never stopped. (For one prompt, position = prompt length + output index.)
 * Ties always break toward the lower token id, so the result is a pure function of its inputs.
 *
 * <pre>{@code
 * int token = Sampler.sample(logits, params, promptAndOutputSoFar, promptAndOutputSoFar.length);
 * }</pre>
 */
public final class Sampler {
    private Sampler() {}

    /**
     * @param logits      the next-token logits (not modified)                [vocab]
     * @param history     prompt and output so far, for the repetition penalty
     * @param position    position the drawn token will occupy (usually {@code history.length})
     */
    public static int sample(float[] logits, SamplingParams p, int[] history, int position) {
        float[] x = logits.clone();
        if (p.repetitionPenalty() != 1) {
            applyRepetitionPenalty(x, history, (float) p.repetitionPenalty());
        }
        if (p.isGreedy()) {
            return argmax(x);
        }
        // Candidates sorted by logit (descending, then id): top-k and top-p both keep a prefix of this order.
        Integer[] order = new Integer[x.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> x[a] != x[b] ? Float.compare(x[b], x[a]) : Integer.compare(a, b));
        int keep = p.topK() == 0 ? x.length : Math.min(p.topK(), x.length);

        double max = x[order[0]] / p.temperature();
        double[] prob = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            prob[i] = Math.exp(x[order[i]] / p.temperature() - max);
            sum += prob[i];
        }
        if (p.topP() < 1) {
            double cumulative = 0;
            int n = 0;
            while (n < keep) {
                cumulative += prob[n++] / sum;
                if (cumulative >= p.topP()) {
                    break;
                }
            }
            keep = n;
            sum = 0;
            for (int i = 0; i < keep; i++) {
                sum += prob[i];
            }
        }
        double u = uniform(p.seed(), position) * sum;
        double cumulative = 0;
        for (int i = 0; i < keep; i++) {
            cumulative += prob[i];
            if (u < cumulative) {
                return order[i];
            }
        }
        return order[keep - 1]; // u rounded up to sum: the last kept candidate
    }

    /** HF's RepetitionPenaltyLogitsProcessor: each distinct seen token is penalised once. */
    static void applyRepetitionPenalty(float[] x, int[] history, float penalty) {
        boolean[] seen = new boolean[x.length];
        for (int t : history) {
            if (t >= 0 && t < x.length && !seen[t]) {
                seen[t] = true;
                x[t] = x[t] > 0 ? x[t] / penalty : x[t] * penalty;
            }
        }
    }

    static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Softmax over the logits of {@code ids} only: the next-token distribution restricted to them. */
    public static float[] restrictedSoftmax(float[] logits, int[] ids) {
        double max = Double.NEGATIVE_INFINITY;
        for (int id : ids) {
            max = Math.max(max, logits[id]);
        }
        double[] e = new double[ids.length];
        double sum = 0;
        for (int i = 0; i < ids.length; i++) {
            e[i] = Math.exp(logits[ids[i]] - max);
            sum += e[i];
        }
        float[] out = new float[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (float) (e[i] / sum);
        }
        return out;
    }

    /** A uniform double in [0, 1) from (seed, index) alone: SplitMix64 over the pair. */
    static double uniform(long seed, int index) {
        long z = mix(seed + 0x9E3779B97F4A7C15L * (index + 1L));
        z = mix(z ^ seed);
        return (z >>> 11) * 0x1.0p-53;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
