package io.flinkglm.runtime.engine;

import org.apache.flink.annotation.PublicEvolving;

/**
 * A snapshot of the engine's health, plain values a Flink operator can expose as gauges.
 * Latencies are percentiles over the most recent {@value MetricsRecorder#WINDOW} finished requests
 * (time per output token: over their decode phases); throughput is over the last ten seconds.
 *
 * <pre>{@code
 * EngineMetrics m = engine.metrics();
 * System.out.printf("ttft p99 %.1f ms, %d waiting, cache hit %.0f%%%n",
 *         m.ttftMsP99(), m.waitingRequests(), 100 * m.prefixCacheHitRate());
 * }</pre>
 *
 * @param prefixCacheHitRate prompt tokens reused (prefix cache or imported KV) / prompt tokens, since start
 * @param lastBatchTokens    tokens in the most recent step
 * @param lastBatchSequences sequences in the most recent step
 * @param meanBatchTokens    mean tokens per step over the recent steps
 * @param streamingChecks    streaming-moderation checks finished ({@link StreamingCheck}), since start
 * @param checkPromptTokensComputed prompt tokens those checks ran through the model (the rest came from the
 *                           prefix cache)
 * @param laterCheckPromptTokensMax the most prompt tokens one check computed, over every check but a request's
 *                           first (which also computes the prefix and the prompt): at most the interval plus the
 *                           suffix when the interval is a multiple of the block size, as {@link StreamingCheck}
 *                           explains
 */
@PublicEvolving
public record EngineMetrics(
        double ttftMsP50, double ttftMsP99,
        double tpotMsP50, double tpotMsP99,
        double queueMsP50, double queueMsP99,
        int runningRequests, int waitingRequests,
        int lastBatchTokens, int lastBatchSequences, double meanBatchTokens,
        int kvBlocksTotal, int kvBlocksUsed, int kvBlocksFree, int kvBlocksCached,
        double prefixCacheHitRate,
        long preemptions,
        long generatedTokens, double generatedTokensPerSecond,
        long finishedRequests,
        long steps,
        long streamingChecks, long checkPromptTokensComputed, int laterCheckPromptTokensMax) {
}
