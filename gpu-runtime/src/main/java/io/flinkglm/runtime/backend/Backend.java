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
 * <pre>{@code
 * try (Backend backend = Backends.create("cpu", model); KvCache kv = backend.newKvCache(64, 16)) {
 *     float[][][] logits = backend.forward(kv, List.of(new SequenceChunk(tokens, 0, new int[] {0, 1}, false)));
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
     * Runs one step. Writes the chunks' K and V into their blocks and returns, per chunk, the
     * logits of its last position ({@code [1][vocab]}) or of every position ({@code [n][vocab]}).
     */
    float[][][] forward(KvCache kv, List<SequenceChunk> chunks);

    /** The device's own probes and profiler, where the backend has a device apart from the host. */
    default Optional<BackendDiagnostics> diagnostics() {
        return Optional.empty();
    }

    @Override
    default void close() {
    }
}
