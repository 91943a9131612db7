package io.flinkglm.runtime.backend;

import io.flinkglm.runtime.model.Glm4Model;
import org.apache.flink.annotation.Internal;

import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The draw on the host: turns one position's logits into a token under a {@link RowSampling}
 * (constraint mask, repetition penalty, temperature, top-k, top-p, then a draw), or into the
 * probabilities of a classification. Every backend that copies its logits to the host samples
 * here ({@link Backend#step}'s default), and a device sampler must draw what this draws.
 *
 * <p>Stateless: the uniform number for the token that will sit at position {@code p} is
 * {@code SplitMix64(seed, p)}. A recomputed (preempted) request therefore draws exactly the same
 * tokens, and so does a conversation resumed from exported KV whose prompt is the earlier prompt
 * plus its output: its next token sits at the same position, with the same seed, as if it had
 * never stopped. (For one prompt, position = prompt length + output index.)
 * Ties always break toward the lower token id, so the result is a pure function of its inputs.
 *
 * <pre>{@code
 * List<RowResult> drawn = HostSampler.sampleRows(model, backend.forwardLogits(kv, chunks), rows);
 * int token = HostSampler.sample(logits, row);
 * }</pre>
 */
@Internal
public final class HostSampler {
    /**
     * Rows sample independently (each draw is a function of its own logits, seed and position),
     * so a large batch samples in parallel: with a flat distribution over a big vocabulary, top-p
     * orders most of it, about 0.7 ms per row at 32k tokens.
     */
    private static final int PARALLEL_SAMPLING_FROM = 4;

    private HostSampler() {}

    /**
     * Each row's result from the step's logits ({@code logits[chunk]}'s last row), in the rows'
     * order. A row whose logits hold a NaN or an infinity fails alone with a message naming the
     * model: a NaN row would make the draw pick an arbitrary token and carry on producing garbage.
     */
    public static List<RowResult> sampleRows(Glm4Model model, float[][][] logits, List<RowSampling> rows) {
        RowSampling.checkRows(rows, logits.length);
        RowResult[] out = new RowResult[rows.size()];
        IntStream indices = IntStream.range(0, rows.size());
        (rows.size() >= PARALLEL_SAMPLING_FROM ? indices.parallel() : indices).forEach(i -> {
            RowSampling row = rows.get(i);
            float[][] chunk = logits[row.chunk()];
            out[i] = sampleRow(model, chunk[chunk.length - 1], row);
        });
        return Arrays.asList(out);
    }

    /** One row's result from its logits: a token, class probabilities, or the non-finite failure. */
    public static RowResult sampleRow(Glm4Model model, float[] logits, RowSampling row) {
        int bad = firstNonFinite(logits);
        if (bad >= 0) {
            return RowResult.failed(String.format(
                    "the model computed a non-finite logit (%s for token %d) choosing the token at position"
                            + " %d; the weights of %s are corrupt for this input", logits[bad], bad, row.position(),
                    model.dir() != null ? model.dir() : "the model"));
        }
        return row.isClassification()
                ? RowResult.probabilities(restrictedSoftmax(logits, row.classifyTokenIds()))
                : RowResult.token(sample(logits, row));
    }

    /**
     * The index of the first NaN or infinite logit, or -1. One pass over the row costs far less
     * than sampling it.
     */
    static int firstNonFinite(float[] logits) {
        for (int i = 0; i < logits.length; i++) {
            if (!Float.isFinite(logits[i])) {
                return i;
            }
        }
        return -1;
    }

    /**
     * The token {@code row} draws from {@code logits} (not modified). With a mask, the tokens it
     * leaves out get logit -inf before the penalty, temperature, top-k and top-p, so those see the
     * constrained distribution (as vLLM's structured output applies its bitmask first); the stop
     * tokens are allowed exactly when they are among {@code row.allowedStops()}, whatever the bit set says.
     *
     * @param logits the next-token logits [vocab]
     */
    public static int sample(float[] logits, RowSampling p) {
        float[] x = logits.clone();
        if (p.allowed() != null) {
            applyMask(x, p.allowed(), p.stopTokenIds(), p.allowedStops());
        }
        if (p.repetitionPenalty() != 1) {
            applyRepetitionPenalty(x, p.history(), (float) p.repetitionPenalty());
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
        double u = uniform(p.seed(), p.position()) * sum;
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
    static void applyMask(float[] x, long[] allowed, int[] stopTokenIds, int[] allowedStops) {
        float[] original = allowedStops.length == 0 ? null : x.clone();
        for (int i = 0; i < x.length; i++) {
            int word = i >>> 6;
            if (word >= allowed.length || (allowed[word] & (1L << i)) == 0) {
                x[i] = Float.NEGATIVE_INFINITY;
            }
        }
        for (int stop : stopTokenIds) {
            if (stop >= 0 && stop < x.length) {
                x[stop] = contains(allowedStops, stop) ? original[stop] : Float.NEGATIVE_INFINITY;
            }
        }
    }

    private static boolean contains(int[] ids, int id) {
        for (int x : ids) {
            if (x == id) {
                return true;
            }
        }
        return false;
    }

    /**
     * The tokens top-k and top-p may keep, most likely first (lower id on ties). Sorting a 151k
     * vocabulary per token would dominate a decode step, so only what can matter is sorted: the k
     * best for top-k; for top-p alone, tokens with probability at least (1 - p) / vocab, because the
     * rest together hold less than 1 - p and so can never be needed to reach p. With neither, every
     * token in id order.
     */
    private static int[] candidates(float[] x, double[] e, double total, RowSampling p) {
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
