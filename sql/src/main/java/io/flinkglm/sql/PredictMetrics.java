package io.flinkglm.sql;

import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.InferenceEngine;
import org.apache.flink.annotation.Internal;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * The prediction metrics of one subtask's function, in its metric group. The counters and histograms are
 * this function's rows; the gauges are the shared engine's, so every model on it reports the same values.
 *
 * <pre>
 * requests, failures                     rows predicted / rows that ended without an answer
 * tokensIn, tokensOut                    prompt tokens / generated tokens
 * latencyMs, ttftMs                      per row: arrival to answer / arrival to the first token
 * engineBatchSequences, kvBlocksUsed     the engine's last step
 * </pre>
 */
@Internal
final class PredictMetrics {
    private static final int WINDOW = 1024; // rows per histogram, as Flink's own latency histograms keep

    private final Counter requests;
    private final Counter failures;
    private final Counter tokensIn;
    private final Counter tokensOut;
    private final Histogram latencyMs;
    private final Histogram ttftMs;

    PredictMetrics(MetricGroup group, InferenceEngine engine) {
        requests = group.counter("requests");
        failures = group.counter("failures");
        tokensIn = group.counter("tokensIn");
        tokensOut = group.counter("tokensOut");
        latencyMs = group.histogram("latencyMs", new DescriptiveStatisticsHistogram(WINDOW));
        ttftMs = group.histogram("ttftMs", new DescriptiveStatisticsHistogram(WINDOW));
        group.gauge("engineBatchSequences", () -> engine.metrics().lastBatchSequences());
        group.gauge("kvBlocksUsed", () -> engine.metrics().kvBlocksUsed());
    }

    void arrived() {
        requests.inc();
    }

    void answered(long arrivalNanos, GenerationResult result) {
        tokensIn.inc(result.promptTokens());
        tokensOut.inc(result.outputTokens().length);
        latencyMs.update((System.nanoTime() - arrivalNanos) / 1_000_000);
        if (result.timings().firstTokenNanos() > 0) {
            ttftMs.update(result.timings().firstTokenNanos() / 1_000_000);
        }
    }

    void failed() {
        failures.inc();
    }

    long requests() {
        return requests.getCount();
    }

    long failures() {
        return failures.getCount();
    }
}
