package io.flinkglm.runtime.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TenantCountersTest {

    @Test
    void aStreamOfOneOffTenantsDoesNotGrowTheCounters() {
        TenantCounters counters = new TenantCounters(Map.of());
        counters.arrived("bulk");
        for (int i = 0; i < 10_000; i++) {
            String tenant = "one-off-" + i;
            counters.arrived(tenant);
            counters.chargePrompt(tenant, 5);
            counters.chargePrompt("bulk", 10); // the long-running tenant stays ahead: the floor rises past one-offs
            counters.left(tenant);
        }

        assertThat(counters.tracked()).isLessThanOrEqualTo(2 + TenantCounters.PRUNE_SLACK + 1);
    }

    @Test
    void forgettingIdleTenantsChangesNoCounterAnActiveTenantIsServedBy() {
        // The same random arrivals, charges and departures with pruning and against a model that keeps every
        // counter: every tenant's counter while active is the same.
        Random random = new Random(11);
        TenantCounters pruned = new TenantCounters(Map.of("t3", 3.0));
        KeepAll kept = new KeepAll(Map.of("t3", 3.0));
        int[] running = new int[200];
        int mostForgotten = 0;
        for (int step = 0; step < 50_000; step++) {
            String tenant = "t" + random.nextInt(running.length);
            int i = Integer.parseInt(tenant.substring(1));
            int action = random.nextInt(10); // arrive 1 in 10, charge 3 in 10, leave 6 in 10: most tenants idle
            switch (action < 1 ? 0 : action < 4 ? 1 : 2) {
                case 0 -> {
                    pruned.arrived(tenant);
                    kept.arrived(tenant);
                    running[i]++;
                }
                case 1 -> {
                    if (running[i] > 0) {
                        int tokens = 1 + random.nextInt(50);
                        pruned.chargeOutput(tenant, tokens);
                        kept.chargeOutput(tenant, tokens);
                    }
                }
                default -> {
                    if (running[i] > 0) {
                        pruned.left(tenant);
                        kept.left(tenant);
                        running[i]--;
                    }
                }
            }
            mostForgotten = Math.max(mostForgotten, kept.counters.size() - pruned.tracked());
            if (running[i] > 0) {
                assertThat(pruned.counter(tenant)).as("step %d, %s", step, tenant).isEqualTo(kept.counter(tenant));
            }
        }
        assertThat(mostForgotten).as("idle tenants were forgotten on the way").isPositive();
    }

    /** The counters before pruning: the same rules, every counter kept forever. */
    private static final class KeepAll {
        private final Map<String, Double> weights;
        private final java.util.HashMap<String, Double> counters = new java.util.HashMap<>();
        private final java.util.HashMap<String, Integer> active = new java.util.HashMap<>();
        private double lastIdle;

        KeepAll(Map<String, Double> weights) {
            this.weights = weights;
        }

        void arrived(String t) {
            int n = active.getOrDefault(t, 0);
            if (n == 0) {
                double floor = lastIdle;
                if (!active.isEmpty()) {
                    floor = active.keySet().stream().mapToDouble(this::counter).min().orElseThrow();
                }
                counters.put(t, Math.max(counter(t), floor));
            }
            active.put(t, n + 1);
        }

        void left(String t) {
            int n = active.getOrDefault(t, 0);
            if (n <= 1) {
                active.remove(t);
                lastIdle = counter(t);
            } else {
                active.put(t, n - 1);
            }
        }

        void chargeOutput(String t, int tokens) {
            counters.put(t, counter(t) + TenantCounters.OUTPUT_TOKEN_COST * tokens / weights.getOrDefault(t, 1.0));
        }

        double counter(String t) {
            return counters.getOrDefault(t, 0.0);
        }
    }
}
