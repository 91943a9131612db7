package io.flinkglm.runtime.backend.cpu;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.backend.StepPlan;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.model.ModelConfig;
import org.apache.flink.annotation.Internal;

import java.util.List;

/**
 * The GLM-4 forward pass on the CPU, line for line as ../shared/glm4/SPEC.md and transformers'
 * {@code GlmForCausalLM}: pre-norm decoder, fused q|k|v with bias, partial adjacent-pair RoPE,
 * grouped-query attention over paged KV, SwiGLU with the gate first, separate lm_head.
 *
 * <p>All tokens of a step (every sequence's chunk) go through each matrix together, so the weights
 * stream from memory once per step. Attention is per token and per head over that token's own
 * sequence, in position order, so a token's result never depends on its neighbours in the step.
 */
@Internal
public final class CpuBackend implements Backend {
    /**
     * Panels (of 16 rows) per parallel work item: enough to amortise scheduling and keep the
     * prefetcher on long runs, few enough to balance the cores (8 measured 4% faster than 4 for a
     * 16-token step of the 0.5B model on two cores; 16 no better).
     */
    private static final int PANELS_PER_TASK = 8;
    private static final int SWIGLU_SLICE = 1024;
    /**
     * Tokens per matrix product in a long prefill. Every pair of weight strips runs over all the
     * product's activations, so past L2 (at 1,024 tokens the down projection's are 19 MB) they
     * came from memory once per strip pair; in slices they stay in L2 and the weights are read
     * once per slice instead. At 1,024 tokens of the 0.5B model: 104 tok/s unsliced, 197 in slices of
     * 128, 170 of 64, 184 of 256.
     */
    private static final int TOKEN_SLICE = 128;

    private final Glm4Model model;
    private final ModelConfig c;
    private final CpuWeights w;
    private final Kernels kernels;
    private final Rope rope;
    private final Parallel pool; // owned: closed with the backend, so no worker outlives a job

    public CpuBackend(Glm4Model model) {
        this(model, Kernels.BEST);
    }

    public CpuBackend(Glm4Model model, Kernels kernels) {
        this(model, kernels, Parallel.defaultThreads());
    }

    /**
     * @param threads the worker pool's size, the caller's thread included ({@link Parallel#defaultThreads}
     *                divides the cores between the pools open in this JVM)
     */
    public CpuBackend(Glm4Model model, Kernels kernels, int threads) {
        this.model = model;
        this.c = model.config();
        this.w = CpuWeights.of(model.weights()); // the first CPU backend on a model repacks it
        this.kernels = kernels;
        this.rope = new Rope(c.rotaryDim(), c.ropeTheta());
        this.pool = new Parallel(threads);
    }

    @Override
    public String description() {
        return "cpu (" + (kernels.width() == 0 ? "scalar" : "SIMD " + kernels.width() + " x f32")
                + ", " + pool.threads() + " threads)";
    }

    /** Stops the worker threads; the backend must not run a step after this. */
    @Override
    public void close() {
        pool.close();
    }

    @Override
    public Glm4Model model() {
        return model;
    }

    @Override
    public KvCache newKvCache(int numBlocks, int blockSize) {
        return new CpuKvCache(c, numBlocks, blockSize);
    }

    @Override
    public float[][][] forwardLogits(KvCache kvCache, List<SequenceChunk> chunks) {
        CpuKvCache kv = (CpuKvCache) kvCache;
        StepPlan step = StepPlan.inCallerOrder(chunks, kv.blockSize(), c);
        int n = step.rows;
        int h = c.hiddenSize();
        int qkvDim = c.qDim() + 2 * c.kvDim();

        float[] x = new float[n * h];                       // residual stream [n, hidden]
        for (int t = 0; t < n; t++) {
            w.embed().copyRow(step.token(t), x, t * h);
        }
        float[] xn = new float[n * h];                      // normed input      [n, hidden]
        // Products write the kernels' padding tokens too (Kernels.paddedTokens): their outputs
        // get room past the n real rows.
        int padded = Kernels.paddedTokens(n);
        float[] qkv = new float[padded * qkvDim];           // projections       [n, q|k|v]
        float[] att = new float[n * c.qDim()];              // attention output  [n, heads*headDim]
        float[] proj = new float[padded * h];               // o / down output   [n, hidden]
        float[] gateUp = new float[padded * 2 * c.intermediateSize()];
        float[] act = new float[n * c.intermediateSize()];  // u * silu(gate)    [n, intermediate]
        int widest = Math.max(Math.max(h, c.qDim()), c.intermediateSize()) + 1;
        float[] prepared = new float[padded * widest];      // one product's activations, as the kernels read them

        for (int l = 0; l < c.numLayers(); l++) {
            CpuWeights.Layer layer = w.layers().get(l);

            rmsNorm(x, layer.inputNorm(), xn, n);
            matmul(layer.qkv(), xn, n, qkv, prepared);
            for (int t = 0; t < n; t++) {
                int o = t * qkvDim;
                for (int i = 0; i < qkvDim; i++) {
                    qkv[o + i] += layer.qkvBias()[i];
                }
                rope.rotate(qkv, o, c.numHeads() + c.numKvHeads(), c.headDim(), step.position(t));
                storeKv(kv, l, step, t, qkv, o + c.qDim());
            }
            attention(kv, l, step, qkv, att);
            matmul(layer.o(), att, n, proj, prepared);
            add(x, proj);

            rmsNorm(x, layer.postNorm(), xn, n);
            matmul(layer.gateUp(), xn, n, gateUp, prepared);
            swiglu(gateUp, act, n);
            matmul(layer.down(), act, n, proj, prepared);
            add(x, proj);
        }
        return logits(step, x, prepared);
    }

    /** Final norm and lm_head, only for the positions whose logits were asked for. */
    private float[][][] logits(StepPlan step, float[] x, float[] scratch) {
        int h = c.hiddenSize();
        int rows = step.logitRows.length;
        float[] selected = new float[rows * h];
        for (int i = 0; i < rows; i++) {
            System.arraycopy(x, step.logitRows[i] * h, selected, i * h, h);
        }
        float[] normed = new float[rows * h];
        rmsNorm(selected, w.finalNorm(), normed, rows);
        float[] all = new float[Kernels.paddedTokens(rows) * c.vocabSize()];
        matmul(w.lmHead(), normed, rows, all, scratch);

        return step.split(all, c.vocabSize());
    }

    /**
     * {@code out[t] = x[t] W^T} for every token, panels of rows split over the cores. A long
     * prefill goes {@link #TOKEN_SLICE} tokens at a time, so that the activations each pair of
     * weight strips runs over stay in L2 (see the constant).
     */
    private void matmul(PanelMatrix m, float[] x, int tokens, float[] out, float[] scratch) {
        if (tokens <= TOKEN_SLICE) {
            matmulSlice(m, x, 0, tokens, out, scratch);
            return;
        }
        float[] sliceOut = new float[TOKEN_SLICE * m.rows];
        for (int t0 = 0; t0 < tokens; t0 += TOKEN_SLICE) {
            int n = Math.min(TOKEN_SLICE, tokens - t0);
            float[] o = Kernels.paddedTokens(n) == n ? sliceOut : new float[Kernels.paddedTokens(n) * m.rows];
            matmulSlice(m, x, t0 * m.cols, n, o, scratch);
            System.arraycopy(o, 0, out, t0 * m.rows, n * m.rows);
        }
    }

    private void matmulSlice(PanelMatrix m, float[] x, int from, int tokens, float[] out, float[] scratch) {
        float[] prepared = kernels.prepare(m, x, from, tokens, scratch);
        int panels = m.panels();
        int tasks = (panels + PANELS_PER_TASK - 1) / PANELS_PER_TASK;
        pool.forEach(tasks, task -> {
            int p0 = task * PANELS_PER_TASK;
            kernels.matmulPanels(m, prepared, tokens, out, p0, Math.min(panels, p0 + PANELS_PER_TASK));
        });
    }

    /** rmsnorm(x, w) = w * x / sqrt(mean(x^2) + eps); the mean is accumulated in double. */
    private void rmsNorm(float[] x, float[] weight, float[] out, int tokens) {
        int h = weight.length;
        for (int t = 0; t < tokens; t++) {
            int o = t * h;
            double sumSq = 0;
            for (int i = 0; i < h; i++) {
                sumSq += (double) x[o + i] * x[o + i];
            }
            float inv = (float) (1.0 / Math.sqrt(sumSq / h + c.rmsNormEps()));
            for (int i = 0; i < h; i++) {
                out[o + i] = weight[i] * (x[o + i] * inv);
            }
        }
    }

    private void storeKv(CpuKvCache kv, int layer, StepPlan step, int t, float[] qkv, int kOffset) {
        int p = step.position(t);
        int block = step.block(t, p);
        int slot = p % kv.blockSize();
        kv.storeKey(layer, block, slot, qkv, kOffset);
        System.arraycopy(qkv, kOffset + c.kvDim(), kv.v[layer], kv.offset(block, slot), c.kvDim());
    }

    /**
     * Causal attention: token t (at position p) attends over positions 0..p of its own sequence.
     * Query head hq reads kv head hq / (heads / kvHeads); one work item is a token and a kv head, so
     * the query heads sharing that head read each K and V row once between them. Scores go block
     * by block ({@link Kernels#blockScores}); softmax in float32 over a max-shifted row, each
     * weight divided by the row's sum; then the weighted values ({@link Kernels#weightedValues}).
     */
    private void attention(CpuKvCache kv, int layer, StepPlan step, float[] qkv, float[] att) {
        int kvHeads = c.numKvHeads();
        int hd = c.headDim();
        int group = c.numHeads() / kvHeads;
        int qkvDim = c.qDim() + 2 * c.kvDim();
        int bs = kv.blockSize();
        float scale = (float) (1.0 / Math.sqrt(hd));
        float[] keys = kv.k[layer];
        float[] values = kv.v[layer];
        pool.forEach(step.rows * kvHeads, item -> {
            int t = item / kvHeads;
            int kvHead = item % kvHeads;
            int firstHead = kvHead * group;
            int positions = step.position(t) + 1;
            int blocks = (positions + bs - 1) / bs;
            int stride = blocks * bs; // a query head's row of scores, whole blocks (the last one's tail unused)
            float[] scores = new float[group * stride];
            int q = t * qkvDim + firstHead * hd;
            for (int b = 0; b < blocks; b++) {
                int ko = kv.keyOffset(step.block(t, b * bs), kvHead * hd);
                kernels.blockScores(qkv, q, group, hd, keys, ko, bs, scale, scores, b * bs, stride);
            }
            for (int g = 0; g < group; g++) {
                int row = g * stride;
                float max = Float.NEGATIVE_INFINITY;
                for (int p = 0; p < positions; p++) {
                    max = Math.max(max, scores[row + p]);
                }
                kernels.expShifted(scores, row, positions, max);
                float sum = 0f;
                for (int p = 0; p < positions; p++) {
                    sum += scores[row + p];
                }
                for (int p = 0; p < positions; p++) {
                    scores[row + p] /= sum;
                }
            }
            int[] rows = new int[positions];
            for (int p = 0; p < positions; p++) {
                rows[p] = (p % bs == 0 ? kv.offset(step.block(t, p), 0) + kvHead * hd : rows[p - 1] + c.kvDim());
            }
            kernels.weightedValues(scores, 0, stride, group, positions, values, rows, hd, att, t * c.qDim() + firstHead * hd);
        });
    }

    /**
     * act = up * silu(gate), gate being the first half of each token's gate_up row, through the
     * kernels' vectorised exp; split over the cores in slices.
     */
    private void swiglu(float[] gateUp, float[] act, int tokens) {
        int inter = c.intermediateSize();
        int slices = (inter + SWIGLU_SLICE - 1) / SWIGLU_SLICE;
        pool.forEach(tokens * slices, item -> {
            int t = item / slices;
            int from = (item % slices) * SWIGLU_SLICE;
            int to = Math.min(inter, from + SWIGLU_SLICE);
            int g = t * 2 * inter;
            kernels.swiglu(gateUp, g + from, gateUp, g + inter + from, act, t * inter + from, to - from);
        });
    }

    private static void add(float[] x, float[] delta) {
        for (int i = 0; i < x.length; i++) {
            x[i] += delta[i];
        }
    }
}
