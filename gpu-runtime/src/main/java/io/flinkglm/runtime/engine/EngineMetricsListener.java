package io.flinkglm.runtime.engine;

import org.apache.flink.annotation.PublicEvolving;

/**
 * Called on the engine thread after every step with a fresh snapshot; must return quickly. The
 * Flink operator keeps the latest snapshot in a field its gauges read.
 *
 * <pre>{@code
 * AtomicReference<EngineMetrics> latest = new AtomicReference<>();
 * InferenceEngine.builder(backend).metricsListener(latest::set).build();
 * }</pre>
 */
@PublicEvolving
@FunctionalInterface
public interface EngineMetricsListener {
    void onStep(EngineMetrics metrics);
}
