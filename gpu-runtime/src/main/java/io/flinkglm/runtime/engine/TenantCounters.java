package io.flinkglm.runtime.engine;

import java.util.HashMap;
import java.util.Map;

/**
 * Virtual token counters per tenant, the service measure of {@link Fairness#FAIR} (VTC, Sheng et al., OSDI
 * 2024, Algorithm 2). Costs are the paper's default: 1 per prompt token, 2 per output token (an output token
 * costs a decode step and, priced as OpenAI does, about twice an input token); each divided by the tenant's
 * weight, so a tenant of weight 3 is served three times the tokens of a tenant of weight 1 while both wait.
 *
 * <p>Prompt tokens are charged once, when a request is first admitted, for the whole prompt (cached or not:
 * the counter measures what a tenant asked for, so it does not depend on who else warmed the cache); a
 * request recomputed after preemption is not charged again. Touched only by the scheduler (engine thread).
 *
 * <p>Tenant ids come from the wire, so idle tenants are forgotten once their counter falls to the floor a returning
 * tenant is lifted to anyway ({@link #forgetIdleAtOrBelow}): exact, the schedule is the same as with every counter
 * kept.
 */
final class TenantCounters {
    static final double PROMPT_TOKEN_COST = 1;
    static final double OUTPUT_TOKEN_COST = 2;
    /** Idle entries tolerated beyond the active tenants' count before a prune scan. */
    static final int PRUNE_SLACK = 64;

    private final Map<String, Double> weights;
    private final Map<String, Double> counters = new HashMap<>();
    private final Map<String, Integer> active = new HashMap<>(); // tenant -> sequences waiting or running
    private double lastIdleCounter;                               // the counter of the tenant that went idle last

    TenantCounters(Map<String, Double> weights) {
        this.weights = Map.copyOf(weights);
    }

    /**
     * A sequence of {@code tenant} entered the scheduler. A tenant with no work is lifted to the least counter
     * among the active ones (or, with none active, to the last one that went idle), so a tenant that was quiet
     * cannot claim the service it did not use and starve the others when it comes back.
     */
    void arrived(String tenant) {
        int n = active.getOrDefault(tenant, 0);
        if (n == 0) {
            counters.put(tenant, Math.max(counter(tenant), floor()));
        }
        active.put(tenant, n + 1);
    }

    /** A sequence of {@code tenant} left the scheduler (finished, rejected or cancelled). */
    void left(String tenant) {
        int n = active.getOrDefault(tenant, 0);
        if (n <= 1) {
            active.remove(tenant);
            lastIdleCounter = counter(tenant);
            if (counters.size() > 2 * active.size() + PRUNE_SLACK) {
                forgetIdleAtOrBelow(floor());
            }
        } else {
            active.put(tenant, n - 1);
        }
    }

    /**
     * The counter a returning tenant is lifted to: the least active one's, or with none active the last idle one's.
     * It never decreases: charges only raise active counters, an arrival is lifted to at least it, and a departure
     * leaves a set whose least counter (or, emptied, the leaver's own) is no lower.
     */
    private double floor() {
        if (active.isEmpty()) {
            return lastIdleCounter;
        }
        double floor = Double.MAX_VALUE;
        for (String t : active.keySet()) {
            floor = Math.min(floor, counter(t));
        }
        return floor;
    }

    /**
     * Drops idle tenants whose counter is at or below {@code floor}. Exact, not an approximation: since the floor
     * never decreases and idle counters are never charged, such a tenant would be lifted to the floor on return
     * whether it kept its counter or started from 0. So the map holds the active tenants and the idle ones still
     * ahead of the floor, not every tenant id ever seen; the scan runs only when idle entries outnumber active ones
     * (plus {@value #PRUNE_SLACK}), so its cost per departure stays constant on average.
     */
    private void forgetIdleAtOrBelow(double floor) {
        counters.entrySet().removeIf(e -> !active.containsKey(e.getKey()) && e.getValue() <= floor);
    }

    /** Tenants currently holding a counter: the active ones and the idle ones above the floor. */
    int tracked() {
        return counters.size();
    }

    void chargePrompt(String tenant, int tokens) {
        charge(tenant, PROMPT_TOKEN_COST * tokens);
    }

    void chargeOutput(String tenant, int tokens) {
        charge(tenant, OUTPUT_TOKEN_COST * tokens);
    }

    double counter(String tenant) {
        return counters.getOrDefault(tenant, 0.0);
    }

    private void charge(String tenant, double cost) {
        counters.put(tenant, counter(tenant) + cost / weights.getOrDefault(tenant, 1.0));
    }
}
