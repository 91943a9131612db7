package io.flinkglm.runtime.backend;

import org.apache.flink.annotation.PublicEvolving;

import java.util.List;

/**
 * What a step should draw from the last position of one chunk: everything the draw needs, so a
 * backend can make it wherever the logits are (on the host, or on the device without copying them
 * back). One row per chunk that ends its sequence's known tokens; {@link #chunk} names it, as
 * vLLM's {@code logits_indices} name the rows its sampler reads.
 *
 * <p>A token draw is a pure function of the row's logits and these fields: the uniform number for
 * the token at {@code position} is {@code SplitMix64(seed, position)}, so a row's token does not
 * depend on what else is in the step, and a request recomputed or resumed from imported KV draws
 * the same tokens. A classification row ({@link #classify}) returns the softmax over
 * {@code classifyTokenIds} instead.
 *
 * <pre>{@code
 * RowSampling row = RowSampling.draw(0, 0.8, 0, 0.95, 1.0, 42L, stopIds, history, history.length, null, false);
 * List<RowResult> out = backend.step(kv, chunks, List.of(row));
 * }</pre>
 *
 * @param chunk             index of the chunk in the step whose last position this row reads
 * @param temperature       0 = greedy (the first largest logit)
 * @param topK              keep the k most likely tokens; 0 = all
 * @param topP              keep the most likely tokens holding at least this mass; 1 = all
 * @param repetitionPenalty HF's penalty over each distinct token of {@code history}; 1 = none
 * @param seed              the request's seed
 * @param stopTokenIds      the request's stop tokens: under a mask, only {@code allowedStops} of them may be drawn
 * @param history           prompt and output so far, for the repetition penalty               [n]
 * @param position          position the drawn token will occupy (usually {@code history.length})
 * @param allowed           constraint mask, a bit set over token ids
 *                          ({@code allowed[id >>> 6] & (1L << id)}); null = every token
 * @param allowedStops      the stop tokens that may end the output now (only with {@code allowed}): all of them
 *                          where the output is complete, {@code <|observation|>} alone where a tool call is
 * @param classifyTokenIds  for a classification row, the ids to return probabilities over; else null
 */
@PublicEvolving
public record RowSampling(int chunk, double temperature, int topK, double topP, double repetitionPenalty, long seed,
                          int[] stopTokenIds, int[] history, int position, long[] allowed, int[] allowedStops,
                          int[] classifyTokenIds) {
    private static final int[] NONE = new int[0];

    public RowSampling {
        if (chunk < 0) {
            throw new IllegalArgumentException("negative chunk index " + chunk);
        }
        if (position < 0) {
            throw new IllegalArgumentException("negative position " + position);
        }
        stopTokenIds = stopTokenIds == null ? NONE : stopTokenIds;
        history = history == null ? NONE : history;
        allowedStops = allowedStops == null ? NONE : allowedStops;
    }

    /** A token draw; {@code allowed} null when the request has no constraint. */
    public static RowSampling draw(int chunk, double temperature, int topK, double topP, double repetitionPenalty,
                                   long seed, int[] stopTokenIds, int[] history, int position, long[] allowed,
                                   int[] allowedStops) {
        return new RowSampling(chunk, temperature, topK, topP, repetitionPenalty, seed, stopTokenIds, history,
                position, allowed, allowedStops, null);
    }

    /** A token draw under which either every stop token may end the output now ({@code stopAllowed}) or none. */
    public static RowSampling draw(int chunk, double temperature, int topK, double topP, double repetitionPenalty,
                                   long seed, int[] stopTokenIds, int[] history, int position, long[] allowed,
                                   boolean stopAllowed) {
        return draw(chunk, temperature, topK, topP, repetitionPenalty, seed, stopTokenIds, history, position, allowed,
                stopAllowed ? stopTokenIds : NONE);
    }

    /** The greedy token: the first largest logit. */
    public static RowSampling greedy(int chunk, int position) {
        return draw(chunk, 0, 0, 1, 1, 0, null, null, position, null, NONE);
    }

    /** The probabilities of {@code tokenIds} alone (softmax over their logits), no token drawn. */
    public static RowSampling classify(int chunk, int position, int[] tokenIds) {
        if (tokenIds.length == 0) {
            throw new IllegalArgumentException("a classification needs at least one token id");
        }
        return new RowSampling(chunk, 0, 0, 1, 1, 0, null, null, position, null, NONE, tokenIds);
    }

    /** Checks that every row names one of the step's {@code chunks} chunks, and none twice. */
    public static void checkRows(List<RowSampling> rows, int chunks) {
        boolean[] named = new boolean[chunks];
        for (RowSampling row : rows) {
            if (row.chunk() >= chunks) {
                throw new IllegalArgumentException("a sampling row reads chunk " + row.chunk()
                        + " but the step has " + chunks + " chunks");
            }
            if (named[row.chunk()]) {
                throw new IllegalArgumentException("two sampling rows read chunk " + row.chunk()
                        + "; a chunk has one last position and one draw");
            }
            named[row.chunk()] = true;
        }
    }

    public boolean isClassification() {
        return classifyTokenIds != null;
    }

    public boolean isGreedy() {
        return temperature == 0;
    }
}
