package io.flinkglm.runtime.engine;

import java.util.List;

/**
 * What one step produced, one entry per sampling chunk of the {@link SchedulerOutput}, in order.
 *
 * <pre>{@code
 * for (ModelRunnerOutput.Sampled s : out.sampled()) { ... s.token() ... }
 * }</pre>
 */
record ModelRunnerOutput(List<Sampled> sampled) {

    ModelRunnerOutput {
        sampled = List.copyOf(sampled);
    }

    /** A sampled token, or for a classification the probabilities (token -1). */
    record Sampled(long sequenceId, int token, float[] classProbabilities) {
    }
}
