package io.flinkglm.runtime.engine;

import org.apache.flink.annotation.PublicEvolving;

/**
 * How the engine orders waiting requests within one priority class ({@link GenerationRequest#priority()}
 * always comes first, lower sooner).
 *
 * <pre>{@code
 * InferenceEngine.builder(backend).fairness(Fairness.FAIR).tenantWeights(Map.of("acme", 3.0, "beta", 1.0)).build();
 * }</pre>
 */
@PublicEvolving
public enum Fairness {
    /** First come, first served: a tenant's backlog delays every request that arrives after it. */
    FCFS,
    /**
     * Least service first: the tenant whose virtual token counter is lowest is admitted next, its earliest
     * request first (the Virtual Token Counter of Sheng et al., "Fairness in Serving Large Language Models",
     * OSDI 2024). A tenant's counter grows by 1 per prompt token when a request is admitted and by 2 per
     * output token as they are generated, divided by the tenant's weight; a tenant that had no work is lifted
     * to the least counter of the tenants that have some, so idle time is not banked. Requests without a
     * tenant share one. With a single tenant it is FCFS.
     */
    FAIR
}
