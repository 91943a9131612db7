package io.flinkglm.records;

import org.apache.flink.annotation.PublicEvolving;

/**
 * Per-request sampling settings; each null field keeps the operator's default.
 *
 * <pre>{@code
 * new SamplingOverrides(0.2, null, null, 256, 42L)   // low temperature, 256 tokens, reproducible
 * }</pre>
 */
@PublicEvolving
public record SamplingOverrides(Double temperature, Double topP, Integer topK, Integer maxTokens, Long seed) {}
