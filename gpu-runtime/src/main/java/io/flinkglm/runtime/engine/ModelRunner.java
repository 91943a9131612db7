package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.constraint.Constraint;
import io.flinkglm.runtime.constraint.TokenTrie;
import io.flinkglm.runtime.model.Glm4Model;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Runs what the scheduler decided: fills imported KV blocks, runs one forward step over every
 * chunk, and samples (or classifies) where a chunk reached the end of its sequence. Owns the KV
 * memory; knows nothing of queues or requests.
 *
 * <pre>{@code
 * ModelRunner runner = new ModelRunner(backend, 1024, 16, TokenTrie.of(tokenizer, vocabSize));
 * ModelRunnerOutput out = runner.execute(scheduler.schedule(now));
 * }</pre>
 */
final class ModelRunner implements AutoCloseable {
    private static final int PARALLEL_SAMPLING_FROM = 4;

    private final Backend backend;
    private final KvCache kv;
    private final TokenTrie vocabulary; // for constrained requests; null when the engine has no tokenizer

    ModelRunner(Backend backend, int numBlocks, int blockSize, TokenTrie vocabulary) {
        this.backend = backend;
        this.vocabulary = vocabulary;
        this.kv = backend.newKvCache(numBlocks, blockSize);
    }

    KvCache kv() {
        return kv;
    }

    ModelRunnerOutput execute(SchedulerOutput step) {
        for (SchedulerOutput.BlockImport i : step.imports()) {
            KvTransfer.importBlock(i.source(), i.sourceBlock(), kv, i.targetBlock());
        }
        if (step.chunks().isEmpty()) {
            return new ModelRunnerOutput(List.of());
        }
        List<SequenceChunk> chunks = new ArrayList<>(step.chunks().size());
        for (SchedulerOutput.Chunk c : step.chunks()) {
            chunks.add(new SequenceChunk(c.tokens(), c.startPosition(), c.blockTable(), false));
        }
        float[][][] logits = backend.forward(kv, chunks);
        // Sequences sample independently (each draw is a function of its own logits, seed and
        // position), so a large batch samples in parallel: with a flat distribution over a big
        // vocabulary, top-p orders most of it, about 0.7 ms per sequence at 32k tokens.
        ModelRunnerOutput.Sampled[] drawn = new ModelRunnerOutput.Sampled[chunks.size()];
        IntStream indices = IntStream.range(0, chunks.size());
        (chunks.size() >= PARALLEL_SAMPLING_FROM ? indices.parallel() : indices).forEach(i -> {
            SchedulerOutput.Chunk c = step.chunks().get(i);
            SchedulerOutput.Sample s = c.sample();
            if (s == null) {
                return; // a prefill chunk short of the prompt's end: its logits are not needed
            }
            float[] last = logits[i][0];
            int bad = firstNonFinite(last);
            if (bad >= 0) {
                drawn[i] = ModelRunnerOutput.Sampled.failed(c.sequenceId(), String.format(
                        "the model computed a non-finite logit (%s for token %d) choosing the token at position"
                                + " %d; the weights of %s are corrupt for this input", last[bad], bad, s.position(),
                        backend.model().dir() != null ? backend.model().dir() : "the model"));
                return;
            }
            if (s.classifyTokenIds() != null) {
                drawn[i] = new ModelRunnerOutput.Sampled(c.sequenceId(), -1, Sampler.restrictedSoftmax(last, s.classifyTokenIds()), null);
            } else if (s.constraint() != null) {
                drawn[i] = sampleConstrained(c.sequenceId(), last, s);
            } else {
                drawn[i] = new ModelRunnerOutput.Sampled(c.sequenceId(), Sampler.sample(last, s.params(), s.history(), s.position()), null, null);
            }
        });
        List<ModelRunnerOutput.Sampled> sampled = new ArrayList<>();
        for (ModelRunnerOutput.Sampled d : drawn) {
            if (d != null) {
                sampled.add(d);
            }
        }
        return new ModelRunnerOutput(sampled);
    }

    /**
     * A draw among the tokens that continue the constraint's output. The mask is a function of the
     * automaton state alone, which the sequence's own output determines, so batching cannot change it.
     */
    private ModelRunnerOutput.Sampled sampleConstrained(long sequenceId, float[] logits, SchedulerOutput.Sample s) {
        Constraint constraint = s.constraint();
        int state = s.constraintState();
        long[] allowed = constraint.allowedTokens(state, vocabulary);
        List<Integer> stops = constraint.allowedStops(state, s.params().stopTokenIds());
        boolean any = !stops.isEmpty();
        for (int w = 0; w < allowed.length && !any; w++) {
            any = allowed[w] != 0;
        }
        if (!any) {
            // Cannot happen for a compiled constraint over a byte-level vocabulary (every byte is a token
            // and every automaton state can still finish); if it does, the request ends rather than
            // emitting a token the constraint forbids.
            return ModelRunnerOutput.Sampled.failed(sequenceId, "no token of the vocabulary continues the output"
                    + " under constraint " + constraint + " at position " + s.position());
        }
        return new ModelRunnerOutput.Sampled(sequenceId,
                Sampler.sample(logits, s.params(), s.history(), s.position(), allowed, stops), null, null);
    }

    /**
     * The index of the first NaN or infinite logit, or -1. A NaN row would make the sampler pick an
     * arbitrary token and carry on producing garbage, so the request ends with an error instead;
     * one pass over the row costs far less than sampling it.
     */
    static int firstNonFinite(float[] logits) {
        for (int i = 0; i < logits.length; i++) {
            if (!Float.isFinite(logits[i])) {
                return i;
            }
        }
        return -1;
    }

    /** The KV of a sequence's first {@code tokens.length} positions, in {@link KvTransfer}'s format. */
    byte[] export(int[] tokens, int[] blockTable) {
        return KvTransfer.export(backend.model(), kv, tokens, blockTable);
    }

    /** The KV of a sequence's first {@code tokens.length} positions as blocks {@code fromBlock ..}. */
    KvSnapshot exportBlocks(int[] tokens, int[] blockTable, int fromBlock) {
        return KvTransfer.snapshot(backend.model(), kv, tokens, blockTable, fromBlock);
    }

    Glm4Model model() {
        return backend.model();
    }

    @Override
    public void close() {
        kv.close();
    }
}
