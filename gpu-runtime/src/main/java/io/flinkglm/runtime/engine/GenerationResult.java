package io.flinkglm.runtime.engine;

import org.apache.flink.annotation.PublicEvolving;

/**
 * What a request produced and what it cost. {@code cachedPromptTokens + computedPromptTokens ==
 * promptTokens}, counted when the request was first admitted (a later recompute after preemption
 * shows in {@link EngineMetrics#preemptions()}, not here).
 *
 * <pre>{@code
 * GenerationResult r = handle.result().get(30, TimeUnit.SECONDS);
 * if (r.finishReason() == GenerationResult.FinishReason.STOP) { ... r.outputTokens() ... }
 * }</pre>
 *
 * @param outputTokens       generated tokens, without the stop token that ended generation
 * @param stopTokenId        the stop token that ended it, or -1
 * @param message            why it failed, for ERROR; else null
 * @param classProbabilities for CLASSIFIED: softmax over the requested ids' logits, in their order; for a request
 *                           with a {@link StreamingCheck}: the deciding check's (the flagged one for
 *                           CONTENT_FILTER, else the final one); else null
 * @param kv                 for a request with exportKv: its KV in {@link KvTransfer}'s format; else null
 * @param kvSnapshot         for a request with exportKvFrom: its KV blocks from that block on; else null
 */
@PublicEvolving
public record GenerationResult(String requestId, int[] outputTokens, FinishReason finishReason, int stopTokenId,
                               String message, int promptTokens, int cachedPromptTokens,
                               int computedPromptTokens, Timings timings, float[] classProbabilities,
                               byte[] kv, KvSnapshot kvSnapshot) {

    /**
     * Why a request ended. CONTENT_FILTER: a {@link StreamingCheck} flagged the output; {@code outputTokens}
     * holds what was generated until then, which the caller should withhold.
     */
    public enum FinishReason { STOP, LENGTH, CANCELLED, DEADLINE, CLASSIFIED, ERROR, CONTENT_FILTER }

    /** This result as its streaming checks decided it: a reason, a message, the deciding check's probabilities. */
    GenerationResult decided(FinishReason reason, String why, float[] probabilities) {
        return new GenerationResult(requestId, outputTokens, reason, reason == finishReason ? stopTokenId : -1,
                why, promptTokens, cachedPromptTokens, computedPromptTokens, timings, probabilities, kv, kvSnapshot);
    }

    /**
     * @param queueNanos      submit until first scheduled
     * @param firstTokenNanos submit until the first output token (or the classification); 0 if none
     * @param totalNanos      submit until finished
     * @param queueSteps      engine steps that ran after the request reached the scheduler and before it was
     *                        first scheduled (0: it ran in the very next step)
     * @param firstTokenSteps engine steps from reaching the scheduler to the step that produced its first
     *                        token, that step included (1 at best); 0 if none. Unlike the nanos, it does not
     *                        depend on the machine's speed, so tests and benchmarks compare schedules with it
     */
    public record Timings(long queueNanos, long firstTokenNanos, long totalNanos, long queueSteps,
                          long firstTokenSteps) {

        /** Timings without step counts (results not made by the engine, e.g. in tests). */
        public Timings(long queueNanos, long firstTokenNanos, long totalNanos) {
            this(queueNanos, firstTokenNanos, totalNanos, 0, 0);
        }
    }
}
