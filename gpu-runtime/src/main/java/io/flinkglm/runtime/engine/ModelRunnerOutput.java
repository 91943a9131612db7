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

    /**
     * A sampled token, or for a classification the probabilities (token -1), or for a sequence
     * whose logits came out non-finite the reason it cannot go on (token -1).
     */
    record Sampled(long sequenceId, int token, float[] classProbabilities, String error) {
        static Sampled failed(long sequenceId, String error) {
            return new Sampled(sequenceId, -1, null, error);
        }
    }
}
