package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.runtime.engine.GenerationResult;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.junit.jupiter.api.Test;

class TenantMetricsTest {

    /** Flink's no-op group that keeps what is registered under its dotted path, as a reporter would see it. */
    private static final class RecordingGroup extends UnregisteredMetricsGroup {
        final String path;
        final Map<String, Metric> metrics;

        RecordingGroup(String path, Map<String, Metric> metrics) {
            this.path = path;
            this.metrics = metrics;
        }

        @Override
        public MetricGroup addGroup(String key, String value) {
            return new RecordingGroup(path + key + "." + value + ".", metrics);
        }

        @Override
        public Counter counter(String name) {
            return counter(name, new SimpleCounter());
        }

        @Override
        public <C extends Counter> C counter(String name, C counter) {
            metrics.put(path + name, counter);
            return counter;
        }

        @Override
        public <H extends Histogram> H histogram(String name, H histogram) {
            metrics.put(path + name, histogram);
            return histogram;
        }
    }

    private static GenerationResult result(int prompt, int output, GenerationResult.FinishReason reason, long ttftMs) {
        return new GenerationResult("r", new int[output], reason, -1, null, prompt, 0, prompt,
                new GenerationResult.Timings(1_000_000, ttftMs * 1_000_000, 2 * ttftMs * 1_000_000), null, null, null);
    }

    private static long count(Map<String, Metric> m, String name) {
        return ((Counter) m.get(name)).getCount();
    }

    @Test
    void eachTenantCountsItsTokensTurnsAndTtftInItsOwnGroup() {
        Map<String, Metric> m = new TreeMap<>();
        TenantMetrics metrics = new TenantMetrics(new RecordingGroup("", m), 1000);

        metrics.finished("acme", result(10, 4, GenerationResult.FinishReason.STOP, 20));
        metrics.finished("acme", result(6, 2, GenerationResult.FinishReason.LENGTH, 40));
        metrics.finished("beta", result(3, 0, GenerationResult.FinishReason.DEADLINE, 0));
        metrics.finished(null, result(5, 1, GenerationResult.FinishReason.STOP, 10));

        assertThat(count(m, "tenant.acme.tokensIn")).isEqualTo(16);
        assertThat(count(m, "tenant.acme.tokensOut")).isEqualTo(6);
        assertThat(count(m, "tenant.acme.turns")).isEqualTo(2);
        assertThat(((Histogram) m.get("tenant.acme.ttftMs")).getStatistics().getMax()).isEqualTo(40);
        assertThat(count(m, "tenant.beta.turns")).as("a deadline is not a completed turn").isZero();
        assertThat(((Histogram) m.get("tenant.beta.ttftMs")).getCount()).as("no token, no TTFT").isZero();
        assertThat(count(m, "tenant.default.tokensIn")).isEqualTo(5);
    }

    @Test
    void tenantsPastTheCapAreCountedTogetherUnderOther() {
        Map<String, Metric> m = new TreeMap<>();
        TenantMetrics metrics = new TenantMetrics(new RecordingGroup("", m), 2);

        for (String tenant : new String[] {"t1", "t2", "t3", "t4", "t1"}) {
            metrics.finished(tenant, result(1, 1, GenerationResult.FinishReason.STOP, 1));
        }

        assertThat(metrics.groups()).isEqualTo(3);
        assertThat(count(m, "tenant.t1.turns")).isEqualTo(2);
        assertThat(count(m, "tenant.t2.turns")).isEqualTo(1);
        assertThat(count(m, "tenant.other.turns")).isEqualTo(2);
        assertThat(m).doesNotContainKey("tenant.t3.turns");
    }

    @Test
    void theBudgetStageCountsDeferredAndRejectedTurnsAndChargedTokensPerTenant() {
        Map<String, Metric> m = new TreeMap<>();
        TenantMetrics metrics = new TenantMetrics(new RecordingGroup("", m), 2);

        metrics.admitted("acme", 30);
        metrics.deferred("acme", 20);
        metrics.deferred("acme", 25);
        metrics.rejected("acme");
        metrics.rejected(null);
        metrics.deferred("t3", 1); // past the cap of 2: counted under other

        assertThat(count(m, "tenant.acme.deferredTurns")).isEqualTo(2);
        assertThat(count(m, "tenant.acme.rejectedTurns")).isEqualTo(1);
        assertThat(count(m, "tenant.acme.budgetTokens")).isEqualTo(75);
        assertThat(count(m, "tenant.default.rejectedTurns")).isEqualTo(1);
        assertThat(count(m, "tenant.other.deferredTurns")).isEqualTo(1);
        assertThat(m).as("a stage registers only what it counts").doesNotContainKey("tenant.acme.tokensIn");
    }
}
