package io.flinkglm.runtime.backend;

import io.flinkglm.runtime.model.Glm4Model;
import org.apache.flink.annotation.PublicEvolving;

import java.util.List;
import java.util.Optional;

/**
 * Where the forward pass runs. The engine talks only to this interface and never asks which
 * backend it has; {@link Backends#create} picks one.
 *
 * <p>A step takes any mix of prefill and decode chunks from many sequences; weights are streamed
 * once per step for all of them. A sequence's logits must not depend on what else is in the
 * step (batch invariance: every reduction runs in an order fixed by the sequence alone).
 *
 * <p><b>The backend samples.</b> The engine runs a step with {@link #step}: besides the chunks it
 * passes one {@link RowSampling} per chunk that ends its sequence's known tokens (a decode, or a
 * prompt's last chunk), carrying everything the draw needs (temperature, top-k, top-p, repetition
 * penalty over the history, stop ids, the constraint's mask, seed and position), and gets back one
 * {@link RowResult} per row: the drawn token, or a classification's probabilities, or a failure
 * when that row's logits are non-finite (the row's request ends; the step and its other rows go
 * on). Nothing of size vocabulary has to cross to the engine: a device backend draws where its
 * logits are. The draw is a function of the row's logits and its spec alone, so it is as batch
 * invariant as the logits, and it must equal {@link HostSampler#sample} on those logits (a device
 * draw gets there by summing in the host's order; gpu/NOTES.md): the default {@code step} is
 * exactly that, {@link #forwardLogits} then the host draw.
 *
 * <p>{@link #forwardLogits} is the explicit path to the full logits, for {@code bin/glm logits},
 * the device checks and tests.
 *
 * <pre>{@code
 * try (Backend backend = Backends.create("cpu", model); KvCache kv = backend.newKvCache(64, 16)) {
 *     List<SequenceChunk> chunks = List.of(new SequenceChunk(tokens, 0, new int[] {0, 1}, false));
 *     int next = backend.step(kv, chunks, List.of(RowSampling.greedy(0, tokens.length))).get(0).token();
 *     // or, for the numbers themselves (on another KV cache: a step writes the chunks' KV):
 *     float[][][] logits = backend.forwardLogits(otherKv, chunks);
 * }
 * }</pre>
 */
@PublicEvolving
public interface Backend extends AutoCloseable {
    /** "cpu" or "cuda", with detail for the log line (SIMD width, device name). */
    String description();

    Glm4Model model();

    KvCache newKvCache(int numBlocks, int blockSize);

    /**
     * Runs one step and returns full logits. Writes the chunks' K and V into their blocks and
     * returns, per chunk, the logits of its last position ({@code [1][vocab]}) or of every position
     * ({@code [n][vocab]}).
     */
    float[][][] forwardLogits(KvCache kv, List<SequenceChunk> chunks);

    /**
     * Runs one step and samples. Writes the chunks' K and V into their blocks and returns, for each
     * of {@code rows} in order, what it asks of the last position of its chunk
     * ({@link RowSampling#chunk}); chunks no row names produce nothing. A chunk is named at most
     * once. This default computes {@link #forwardLogits} and draws on the host
     * ({@link HostSampler#sampleRows}); a backend that draws on its device overrides it and must
     * return the same results.
     */
    default List<RowResult> step(KvCache kv, List<SequenceChunk> chunks, List<RowSampling> rows) {
        return HostSampler.sampleRows(model(), forwardLogits(kv, chunks), rows);
    }

    /** The device's own probes and profiler, where the backend has a device apart from the host. */
    default Optional<BackendDiagnostics> diagnostics() {
        return Optional.empty();
    }

    @Override
    default void close() {
    }
}
