package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.RowResult;
import io.flinkglm.runtime.backend.RowSampling;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.engine.Sampler;
import io.flinkglm.runtime.engine.SamplingParams;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Checks of the tokens a backend draws through {@link Backend#step} (the device-sampling
 * checks), for any backend: {@link CudaCheck} runs them on the GPU, {@code DrawChecksTest} on the
 * CPU. While the CUDA backend samples on the host they check its logits' batch invariance through
 * the draw; once it draws on the device they check the device draw itself.
 *
 * <ul>
 *   <li>{@link #acrossBatchSizes}: 64 sampled sequences (temperature 0.8, top-p 0.95), run in steps
 *       of 1, 8 and 64 sequences: every sequence draws the same tokens at every batch size.
 *   <li>{@link #replayFromImportedKv}: a sequence's KV exported part way, imported into a fresh
 *       cache, and decoding resumed there: the same tokens as the run that never stopped.
 *   <li>{@link #agreesWithHostSampler}: {@code step}'s tokens against {@link Sampler} applied to
 *       {@code forwardLogits} of the same step, for greedy, sampled, penalised and masked rows.
 * </ul>
 *
 * <pre>{@code
 * DrawChecks.Outcome o = DrawChecks.acrossBatchSizes(backend);
 * if (!o.passed()) System.out.println(o.figures());
 * }</pre>
 */
public final class DrawChecks {
    static final int SEQUENCES = 64;
    static final int[] BATCH_SIZES = {1, 8, 64};
    static final int DRAWS = 16;
    private static final int BLOCK = 16;
    private static final int MAX_PROMPT = 40;
    private static final int BLOCKS_PER_SEQUENCE = (MAX_PROMPT + DRAWS + BLOCK - 1) / BLOCK;

    private DrawChecks() {}

    /** A check's verdict and the figures it reports. */
    public record Outcome(boolean passed, Map<String, Object> figures) {}

    /** The sampling parameters: temperature 0.8, top-p 0.95, a seed per request. */
    static SamplingParams sampled(long seed) {
        return SamplingParams.builder().temperature(0.8).topP(0.95).seed(seed).build();
    }

    /** 64 sampled sequences of 5 to 40 prompt tokens, drawn in steps of 1, 8 and 64: the same tokens. */
    public static Outcome acrossBatchSizes(Backend backend) {
        return acrossBatchSizes(backend, DRAWS);
    }

    /** As {@link #acrossBatchSizes(Backend)}, {@code draws} (at most 16) tokens per sequence. */
    public static Outcome acrossBatchSizes(Backend backend, int draws) {
        SplittableRandom random = new SplittableRandom(15);
        int vocab = backend.model().config().vocabSize();
        List<int[]> prompts = new ArrayList<>();
        for (int i = 0; i < SEQUENCES; i++) {
            prompts.add(random.ints(random.nextInt(5, MAX_PROMPT + 1), 0, vocab).toArray());
        }
        int[][] reference = null;
        Map<String, Object> figures = new LinkedHashMap<>();
        boolean ok = true;
        for (int batch : BATCH_SIZES) {
            int[][] drawn = new int[SEQUENCES][];
            try (KvCache kv = backend.newKvCache(SEQUENCES * BLOCKS_PER_SEQUENCE, BLOCK)) {
                for (int first = 0; first < SEQUENCES; first += batch) {
                    int[] group = new int[Math.min(batch, SEQUENCES - first)];
                    for (int i = 0; i < group.length; i++) {
                        group[i] = first + i;
                    }
                    int[][] out = draw(backend, kv, prompts, group, draws);
                    for (int i = 0; i < group.length; i++) {
                        drawn[group[i]] = out[i];
                    }
                }
            }
            if (reference == null) {
                reference = drawn;
                figures.put("distinct_tokens_at_batch_1", Arrays.stream(drawn).flatMapToInt(Arrays::stream).distinct().count());
                continue;
            }
            int differing = 0;
            for (int s = 0; s < SEQUENCES; s++) {
                differing += Arrays.equals(reference[s], drawn[s]) ? 0 : 1;
            }
            figures.put("differing_at_batch_" + batch, differing);
            ok &= differing == 0;
        }
        figures.put("sequences", SEQUENCES);
        figures.put("draws", draws);
        return new Outcome(ok, figures);
    }

    /**
     * Four sampled sequences draw 16 tokens; then each one's KV up to its 6th drawn token is exported,
     * imported into a fresh cache, and decoding resumes there from that token: the remaining draws
     * are the same.
     */
    public static Outcome replayFromImportedKv(Backend backend) {
        SplittableRandom random = new SplittableRandom(16);
        int vocab = backend.model().config().vocabSize();
        int resumeAfter = 6;
        int differing = 0;
        int sequences = 4;
        for (int s = 0; s < sequences; s++) {
            List<int[]> prompt = List.of(random.ints(random.nextInt(5, MAX_PROMPT + 1), 0, vocab).toArray());
            int[] group = {0};
            int[] whole;
            int[] resumed;
            try (KvCache original = backend.newKvCache(BLOCKS_PER_SEQUENCE, BLOCK);
                 KvCache fresh = backend.newKvCache(BLOCKS_PER_SEQUENCE, BLOCK)) {
                whole = draw(backend, original, prompt, group, DRAWS)[0];
                // KV of every position before the 6th drawn token's: the prompt and 5 drawn tokens.
                int known = prompt.get(0).length + resumeAfter - 1;
                for (int block = 0; block * BLOCK < known; block++) {
                    int tokens = Math.min(BLOCK, known - block * BLOCK);
                    ByteBuffer bytes = ByteBuffer.allocate(original.exportBytes(tokens));
                    original.exportBlock(block, tokens, bytes);
                    fresh.importBlock(block, tokens, bytes.flip());
                }
                int[] history = concat(prompt.get(0), Arrays.copyOf(whole, resumeAfter));
                resumed = decode(backend, fresh, 0, sampled(1000), history, DRAWS - resumeAfter);
            }
            differing += Arrays.equals(Arrays.copyOfRange(whole, resumeAfter, DRAWS), resumed) ? 0 : 1;
        }
        return new Outcome(differing == 0, Map.of("sequences", sequences, "resumed_after", resumeAfter,
                "differing", differing));
    }

    /**
     * Eight sequences, one of each kind of row (greedy; temperature 0.8 with top-p 0.95; top-k 7 with
     * repetition penalty 1.3; masked to a quarter of the vocabulary with stop tokens), drawn through
     * {@link Backend#step} on one cache and through {@link Backend#forwardLogits} plus
     * {@link Sampler} on another, over a prefill and 7 decode steps: the same tokens. On the GPU
     * this is the device draw against the host draw of the device's own logits.
     */
    public static Outcome agreesWithHostSampler(Backend backend) {
        SplittableRandom random = new SplittableRandom(17);
        int vocab = backend.model().config().vocabSize();
        long[] mask = new long[(vocab + 63) / 64];
        for (int id = random.nextInt(4); id < vocab; id += 1 + random.nextInt(6)) {
            mask[id >>> 6] |= 1L << id;
        }
        int sequences = 8;
        int steps = 8;
        SamplingParams[] params = new SamplingParams[sequences];
        long[][] masks = new long[sequences][];
        int[][] histories = new int[sequences][];
        for (int i = 0; i < sequences; i++) {
            params[i] = switch (i % 4) {
                case 0 -> SamplingParams.GREEDY;
                case 1 -> sampled(2000 + i);
                case 2 -> SamplingParams.builder().temperature(1.0).topK(7).repetitionPenalty(1.3).seed(2000 + i).build();
                default -> SamplingParams.builder().temperature(0.8).topP(0.95).seed(2000 + i)
                        .stopTokenIds(List.of(1, 2)).build();
            };
            masks[i] = i % 4 == 3 ? mask : null;
            histories[i] = random.ints(random.nextInt(5, MAX_PROMPT + 1), 0, vocab).toArray();
        }
        int differing = 0;
        try (KvCache drawKv = backend.newKvCache(sequences * BLOCKS_PER_SEQUENCE, BLOCK);
             KvCache logitsKv = backend.newKvCache(sequences * BLOCKS_PER_SEQUENCE, BLOCK)) {
            for (int step = 0; step < steps; step++) {
                List<SequenceChunk> chunks = new ArrayList<>();
                List<RowSampling> rows = new ArrayList<>();
                for (int i = 0; i < sequences; i++) {
                    int[] history = histories[i];
                    int start = step == 0 ? 0 : history.length - 1;
                    chunks.add(new SequenceChunk(Arrays.copyOfRange(history, start, history.length), start, table(i), false));
                    rows.add(Sampler.row(i, params[i], history, history.length, masks[i], step % 2 == 1));
                }
                List<RowResult> drawn = backend.step(drawKv, chunks, rows);
                float[][][] logits = backend.forwardLogits(logitsKv, chunks);
                for (int i = 0; i < sequences; i++) {
                    int host = Sampler.sample(logits[i][0], params[i], histories[i], histories[i].length, masks[i],
                            step % 2 == 1);
                    differing += token(drawn.get(i)) == host ? 0 : 1;
                    histories[i] = concat(histories[i], new int[] {host}); // both go on from the host's choice
                }
            }
        }
        return new Outcome(differing == 0, Map.of("rows", sequences * steps, "differing", differing));
    }

    /** Prefills {@code group}'s prompts in one step, then decodes them together: {@code draws} tokens each. */
    private static int[][] draw(Backend backend, KvCache kv, List<int[]> prompts, int[] group, int draws) {
        int[][] histories = new int[group.length][];
        int[][] drawn = new int[group.length][draws];
        for (int i = 0; i < group.length; i++) {
            histories[i] = prompts.get(group[i]);
        }
        for (int d = 0; d < draws; d++) {
            List<SequenceChunk> chunks = new ArrayList<>();
            List<RowSampling> rows = new ArrayList<>();
            for (int i = 0; i < group.length; i++) {
                int[] history = histories[i];
                int start = d == 0 ? 0 : history.length - 1;
                chunks.add(new SequenceChunk(Arrays.copyOfRange(history, start, history.length), start,
                        table(group[i]), false));
                rows.add(Sampler.row(i, sampled(1000 + group[i]), history, history.length, null, false));
            }
            List<RowResult> results = backend.step(kv, chunks, rows);
            for (int i = 0; i < group.length; i++) {
                drawn[i][d] = token(results.get(i));
                histories[i] = concat(histories[i], new int[] {drawn[i][d]});
            }
        }
        return drawn;
    }

    /** Decodes {@code draws} tokens after {@code history}, whose KV is in the cache but for its last token. */
    private static int[] decode(Backend backend, KvCache kv, int slot, SamplingParams params, int[] history, int draws) {
        int[] drawn = new int[draws];
        for (int d = 0; d < draws; d++) {
            int last = history.length - 1;
            SequenceChunk chunk = new SequenceChunk(new int[] {history[last]}, last, table(slot), false);
            drawn[d] = token(backend.step(kv, List.of(chunk),
                    List.of(Sampler.row(0, params, history, history.length, null, false))).get(0));
            history = concat(history, new int[] {drawn[d]});
        }
        return drawn;
    }

    private static int token(RowResult result) {
        if (result.failed()) {
            throw new IllegalStateException(result.error());
        }
        return result.token();
    }

    private static int[] table(int sequence) {
        int[] table = new int[BLOCKS_PER_SEQUENCE];
        Arrays.setAll(table, b -> sequence * BLOCKS_PER_SEQUENCE + b);
        return table;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
