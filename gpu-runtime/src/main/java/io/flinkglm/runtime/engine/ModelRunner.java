package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.RowResult;
import io.flinkglm.runtime.backend.RowSampling;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.constraint.Constraint;
import io.flinkglm.runtime.constraint.TokenTrie;
import io.flinkglm.runtime.model.Glm4Model;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Runs what the scheduler decided: fills imported KV blocks, then runs one backend step over every
 * chunk, passing a sampling spec ({@link RowSampling}: the request's parameters, history, position
 * and constraint mask) for each chunk that reached the end of its sequence; the backend returns
 * the drawn token (or class probabilities, or a non-finite failure) per spec. Owns the KV memory;
 * knows nothing of queues or requests.
 *
 * <pre>{@code
 * ModelRunner runner = new ModelRunner(backend, 1024, 16, TokenTrie.of(tokenizer, vocabSize));
 * ModelRunnerOutput out = runner.execute(scheduler.schedule(now));
 * }</pre>
 */
final class ModelRunner implements AutoCloseable {
    /** Constraint masks are computed in parallel from this many chunks (a trie walk each). */
    private static final int PARALLEL_MASKS_FROM = 4;

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
        // One spec per chunk that ends its sequence's known tokens; a prefill chunk short of the
        // prompt's end draws nothing. A constrained row's mask is computed here, in parallel when
        // many rows need one: a function of the automaton state alone.
        ModelRunnerOutput.Sampled[] drawn = new ModelRunnerOutput.Sampled[chunks.size()];
        RowSampling[] specs = new RowSampling[chunks.size()];
        long masks = step.chunks().stream().filter(c -> c.sample() != null && c.sample().constraint() != null).count();
        IntStream indices = IntStream.range(0, chunks.size());
        (masks >= PARALLEL_MASKS_FROM ? indices.parallel() : indices).forEach(i -> {
            SchedulerOutput.Chunk c = step.chunks().get(i);
            SchedulerOutput.Sample s = c.sample();
            if (s == null) {
                return;
            }
            if (s.classifyTokenIds() != null) {
                specs[i] = RowSampling.classify(i, s.position(), s.classifyTokenIds());
            } else if (s.constraint() == null) {
                specs[i] = Sampler.row(i, s.params(), s.history(), s.position(), null, false);
            } else {
                specs[i] = constrainedRow(i, s);
                if (specs[i] == null) {
                    drawn[i] = ModelRunnerOutput.Sampled.failed(c.sequenceId(), "no token of the vocabulary"
                            + " continues the output under constraint " + s.constraint() + " at position " + s.position());
                }
            }
        });
        List<RowSampling> rows = new ArrayList<>();
        for (RowSampling spec : specs) {
            if (spec != null) {
                rows.add(spec);
            }
        }
        List<RowResult> results = backend.step(kv, chunks, rows);
        for (int r = 0; r < rows.size(); r++) {
            int i = rows.get(r).chunk();
            RowResult result = results.get(r);
            drawn[i] = new ModelRunnerOutput.Sampled(step.chunks().get(i).sequenceId(), result.token(),
                    result.probabilities(), result.error());
        }
        List<ModelRunnerOutput.Sampled> sampled = new ArrayList<>();
        for (ModelRunnerOutput.Sampled d : drawn) {
            if (d != null) {
                sampled.add(d);
            }
        }
        return new ModelRunnerOutput(sampled);
    }

    /**
     * The draw among the tokens that continue the constraint's output, or null when none does. The
     * mask is a function of the automaton state alone, which the sequence's own output determines,
     * so batching cannot change it.
     */
    private RowSampling constrainedRow(int chunk, SchedulerOutput.Sample s) {
        Constraint constraint = s.constraint();
        int state = s.constraintState();
        long[] allowed = constraint.allowedTokens(state, vocabulary);
        List<Integer> stops = constraint.allowedStops(state, s.params().stopTokenIds());
        boolean any = !stops.isEmpty();
        for (int w = 0; w < allowed.length && !any; w++) {
            any = allowed[w] != 0;
        }
        // None cannot happen for a compiled constraint over a byte-level vocabulary (every byte is a
        // token and every automaton state can still finish); if it does, the request ends rather
        // than emitting a token the constraint forbids.
        return any ? Sampler.row(chunk, s.params(), s.history(), s.position(), allowed, stops) : null;
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
