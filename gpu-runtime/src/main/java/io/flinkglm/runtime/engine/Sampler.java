package io.flinkglm.runtime.engine;

import org.apache.flink.annotation.Internal;

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
     * tokens: the others get logit -inf before the penalty, temperature, top-k and top-p, so those
     * see the constrained distribution (as vLLM's structured output applies its bitmask first). The
     * request's stop tokens are allowed exactly when {@code stopAllowed}, whatever the bit set says.
     *
     * @param allowed     bit set over token ids ({@code allowed[id >>> 6] & (1L << id)}); null: all
     * @param stopAllowed whether a stop token may end the output now (ignored when {@code allowed} is null)
     */
    public static int sample(float[] logits, SamplingParams p, int[] history, int position, long[] allowed,
                             boolean stopAllowed) {
        return sample(logits, p, history, position, allowed, stopAllowed ? p.stopTokenIds() : java.util.List.of());
    }

    /**
     * As {@link #sample(float[], SamplingParams, int[], int, long[], boolean)}, with the stop tokens that
     * may end the output now named one by one (a tool call may end only on {@code <|observation|>}, an
     * answer only on the others); the request's other stop tokens are masked.
     */
    public static int sample(float[] logits, SamplingParams p, int[] history, int position, long[] allowed,
                             java.util.List<Integer> allowedStops) {
        float[] x = logits.clone();
        if (allowed != null) {
            applyMask(x, allowed, p.stopTokenIds(), allowedStops);
        }
        if (p.repetitionPenalty() != 1) {
            applyRepetitionPenalty(x, history, (float) p.repetitionPenalty());
        }
        if (p.isGreedy()) {
            return argmax(x);
        }
        double invTemperature = 1 / p.temperature();
        float max = x[argmax(x)];
        double[] e = new double[x.length];
        double total = 0;
        for (int i = 0; i < x.length; i++) {
            e[i] = Math.exp((x[i] - max) * invTemperature);
            total += e[i];
        }
        int[] candidates = candidates(x, e, total, p);
        int keep = candidates.length;
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            sum += e[candidates[i]];
        }
        if (p.topP() < 1) {
            double cumulative = 0;
            int n = 0;
            while (n < keep) {
                cumulative += e[candidates[n++]] / sum;
                if (cumulative >= p.topP()) {
                    break;
                }
            }
            keep = n;
            sum = 0;
            for (int i = 0; i < keep; i++) {
                sum += e[candidates[i]];
            }
        }
        double u = uniform(p.seed(), position) * sum;
        double cumulative = 0;
        for (int i = 0; i < keep; i++) {
            cumulative += e[candidates[i]];
            if (u < cumulative) {
                return candidates[i];
            }
        }
        for (int i = keep - 1; i > 0; i--) { // u rounded up to sum: the last kept candidate that can be drawn
            if (e[candidates[i]] > 0) {
                return candidates[i];
            }
        }
        return candidates[0];
    }

    /** Sets every token that {@code allowed} leaves out to -inf; of the stop tokens, only {@code allowedStops} keep their logit. */
    static void applyMask(float[] x, long[] allowed, java.util.List<Integer> stopTokenIds, java.util.List<Integer> allowedStops) {
        float[] original = allowedStops.isEmpty() ? null : x.clone();
        for (int i = 0; i < x.length; i++) {
            int word = i >>> 6;
            if (word >= allowed.length || (allowed[word] & (1L << i)) == 0) {
                x[i] = Float.NEGATIVE_INFINITY;
            }
        }
        for (int stop : stopTokenIds) {
            if (stop >= 0 && stop < x.length) {
                x[stop] = allowedStops.contains(stop) ? original[stop] : Float.NEGATIVE_INFINITY;
            }
        }
    }

    /**
     * The tokens top-k and top-p may keep, most likely first (lower id on ties). Sorting a 151k
     * vocabulary per token would dominate a decode step, so only what can matter is sorted: the k
     * best for top-k; for top-p alone, tokens with probability at least (1 - p) / vocab, because the
     * rest together hold less than 1 - p and so can never be needed to reach p. With neither, every
     * token in id order.
     */
    private static int[] candidates(float[] x, double[] e, double total, SamplingParams p) {
        int v = x.length;
        long[] keys;
        int n = 0;
        if (p.topK() > 0 && p.topK() < v) {
            keys = smallestKeys(x, p.topK());
            n = keys.length;
        } else if (p.topP() < 1) {
            double floor = (1 - p.topP()) / v * total;
            keys = new long[v];
            for (int i = 0; i < v; i++) {
                if (e[i] >= floor) {
                    keys[n++] = sortKey(x[i], i);
                }
            }
            sortKeysInIdOrder(keys, n);
        } else {
            int[] all = new int[v];
            for (int i = 0; i < v; i++) {
                all[i] = i;
            }
            return all;
        }
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = (int) keys[i];
        }
        return out;
    }

    /**
     * The k smallest sort keys (the k best tokens), sorted: a bounded max-heap over the vocabulary,
     * O(vocab log k) instead of sorting all 151k keys for every token.
     */
    private static long[] smallestKeys(float[] x, int k) {
        long[] heap = new long[k]; // max-heap: heap[0] is the worst key kept so far
        int size = 0;
        for (int i = 0; i < x.length; i++) {
            long key = sortKey(x[i], i);
            if (size < k) {
                heap[size] = key;
                for (int c = size++; c > 0 && heap[(c - 1) / 2] < heap[c]; c = (c - 1) / 2) {
                    swap(heap, c, (c - 1) / 2);
                }
            } else if (key < heap[0]) {
                heap[0] = key;
                for (int c = 0; ; ) {
                    int l = 2 * c + 1;
                    int r = l + 1;
                    int largest = c;
                    if (l < k && heap[l] > heap[largest]) {
                        largest = l;
                    }
                    if (r < k && heap[r] > heap[largest]) {
                        largest = r;
                    }
                    if (largest == c) {
                        break;
                    }
                    swap(heap, c, largest);
                    c = largest;
                }
            }
        }
        Arrays.sort(heap);
        return heap;
    }

    /**
     * Sorts {@code keys[0, n)} exactly as {@link Arrays#sort(long[], int, int)} would, given keys made
     * in ascending token id (their low halves ascend): a stable LSD radix sort on the high halves,
     * one pass per byte that differs. O(n): over a flat 32k vocabulary the comparison sort took
     * about a millisecond per draw, most of the sampler's time.
     */
    static void sortKeysInIdOrder(long[] keys, int n) {
        long[] from = keys;
        long[] to = new long[n];
        int[] start = new int[257];
        for (int shift = 32; shift < 64 && n > 1; shift += 8) {
            Arrays.fill(start, 0);
            for (int i = 0; i < n; i++) {
                start[digit(from[i], shift) + 1]++;
            }
            if (start[digit(from[0], shift) + 1] == n) {
                continue; // every key has this byte: the order stands
            }
            for (int b = 0; b < 256; b++) {
                start[b + 1] += start[b];
            }
            for (int i = 0; i < n; i++) {
                to[start[digit(from[i], shift)]++] = from[i];
            }
            long[] t = from;
            from = to;
            to = t;
        }
        if (from != keys) {
            System.arraycopy(from, 0, keys, 0, n);
        }
    }

    /** Byte {@code shift / 8} of the key with its sign bit flipped, so that bytes order as signed keys do. */
    private static int digit(long key, int shift) {
        return (int) ((key ^ Long.MIN_VALUE) >>> shift) & 0xFF;
    }

    private static void swap(long[] a, int i, int j) {
        long t = a[i];
        a[i] = a[j];
        a[j] = t;
    }

    /** Sorts ascending as (logit descending, id ascending): order-preserving float bits, inverted, over the id. */
    static long sortKey(float logit, int id) {
        int bits = Float.floatToIntBits(logit);
        bits ^= (bits >> 31) & 0x7fffffff;
        return ((long) ~bits << 32) | id;
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

    /** The greedy choice: the first index of the largest logit. */
    public static int argmax(float[] x) {
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
