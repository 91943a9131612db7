package io.flinkglm.runtime.engine;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Which tenant the FAIR scheduler admits next, one place in the batch, each request finished after its prefill. */
class FairSchedulerTest {
    private long nextId;

    private Sequence sequence(String tenant) {
        GenerationRequest r = GenerationRequest.builder("r" + nextId, ReferenceGeneration.prompt(nextId, 4, 256))
                .tenant(tenant).sampling(SamplingParams.builder().maxTokens(10).build()).build();
        return new Sequence(nextId++, r, null, 0);
    }

    /** Admits and finishes {@code n} requests, one per step; returns their tenants in admission order. */
    private static List<String> admit(Scheduler scheduler, int n) {
        List<String> tenants = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            SchedulerOutput step = scheduler.schedule(0);
            assertThat(step.chunks()).hasSize(1);
            Sequence s = scheduler.get(step.chunks().get(0).sequenceId());
            tenants.add(s.request.tenant());
            scheduler.remove(s);
        }
        return tenants;
    }

    @Test
    void weightsSplitAdmissionsInTheirRatioWhileBothTenantsWait() {
        Scheduler s = new Scheduler(new KvBlockManager(64, 4, true), 100, 1, Fairness.FAIR,
                Map.of("acme", 3.0, "beta", 1.0));
        for (int i = 0; i < 8; i++) {
            s.add(sequence("acme"));
            s.add(sequence("beta"));
        }

        List<String> first8 = admit(s, 8);

        assertThat(first8).filteredOn("acme"::equals).hasSize(6);
    }

    @Test
    void aTenantThatWasIdleIsLiftedToTheActiveTenantsServiceInsteadOfBankingIt() {
        Scheduler s = new Scheduler(new KvBlockManager(64, 4, true), 100, 1, Fairness.FAIR, Map.of());
        for (int i = 0; i < 15; i++) {
            s.add(sequence("acme"));
        }
        admit(s, 10); // acme alone: 40 tokens of service
        for (int i = 0; i < 5; i++) {
            s.add(sequence("beta"));
        }

        List<String> next4 = admit(s, 4);

        // Without the lift beta (counter 0) would take the next five places in a row; lifted, it ties with acme
        // (equal service, nothing running: the earlier arrival first) and the two alternate.
        assertThat(next4).containsExactly("acme", "beta", "acme", "beta");
    }

    @Test
    void fcfsAdmitsByArrivalWhateverTheTenant() {
        Scheduler s = new Scheduler(new KvBlockManager(64, 4, true), 100, 1, Fairness.FCFS, Map.of());
        for (int i = 0; i < 4; i++) {
            s.add(sequence("acme"));
        }
        s.add(sequence("beta"));

        assertThat(admit(s, 5)).containsExactly("acme", "acme", "acme", "acme", "beta");
    }
}
