package io.flinkglm.operator;

import io.flinkglm.runtime.engine.GenerationResult;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.annotation.Internal;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * Per-tenant metrics of one subtask, each tenant in its own group {@code tenant.<name>}. The chat operator counts
 * {@code tokensIn} (prompt tokens), {@code tokensOut} (generated tokens), {@code turns} (generations that ended
 * with a stop or the length limit), and histograms {@code ttftMs} and {@code queueMs} over the last 1,000 turns;
 * the budget stage ({@link TokenBudgetGate}) counts {@code deferredTurns}, {@code rejectedTurns} and
 * {@code budgetTokens} (tokens charged, reservations included).
 *
 * <p>Tenant ids come from the wire, so their number is capped ({@link GlmOptions#TENANTS_METRICS_MAX}): tenants
 * seen after the cap share the group {@code tenant.other}. Prompts without a tenant count under {@code
 * tenant.default}. Metric groups live as long as the subtask; a restart starts them empty.
 *
 * <pre>{@code
 * TenantMetrics metrics = new TenantMetrics(getMetricGroup(), 1000);
 * metrics.finished(prompt.tenant(), result);
 * }</pre>
 */
@Internal
public final class TenantMetrics {
    static final String OTHER = "other";
    static final String DEFAULT = "default";
    private static final int HISTOGRAM_WINDOW = 1000;

    private final MetricGroup parent;
    private final int maxTenants;
    private final Map<String, Group> groups = new HashMap<>();

    public TenantMetrics(MetricGroup parent, int maxTenants) {
        if (maxTenants < 1) {
            throw new IllegalArgumentException(GlmOptions.TENANTS_METRICS_MAX.key() + " must be at least 1 but is "
                    + maxTenants);
        }
        this.parent = parent;
        this.maxTenants = maxTenants;
    }

    /** Counts one finished generation of {@code tenant} (null: the default tenant). */
    public void finished(String tenant, GenerationResult result) {
        Group g = group(tenant == null ? DEFAULT : tenant);
        g.counter("tokensIn").inc(result.promptTokens());
        g.counter("tokensOut").inc(result.outputTokens().length);
        Counter turns = g.counter("turns");
        if (result.finishReason() == GenerationResult.FinishReason.STOP
                || result.finishReason() == GenerationResult.FinishReason.LENGTH) {
            turns.inc();
        }
        Histogram ttftMs = g.histogram("ttftMs"); // registered with the group even while no turn had a first token
        if (result.timings().firstTokenNanos() > 0) {
            ttftMs.update(result.timings().firstTokenNanos() / 1_000_000);
        }
        g.histogram("queueMs").update(result.timings().queueNanos() / 1_000_000);
    }

    /** Counts a turn the budget stage charged {@code tokens} to a later window than its own. */
    public void deferred(String tenant, long tokens) {
        Group g = group(tenant == null ? DEFAULT : tenant);
        g.counter("deferredTurns").inc();
        g.counter("budgetTokens").inc(tokens);
    }

    /** Counts a turn the budget stage charged {@code tokens} to its own window. */
    public void admitted(String tenant, long tokens) {
        group(tenant == null ? DEFAULT : tenant).counter("budgetTokens").inc(tokens);
    }

    /** Counts a turn the budget stage made a dead letter (budget_exceeded). */
    public void rejected(String tenant) {
        group(tenant == null ? DEFAULT : tenant).counter("rejectedTurns").inc();
    }

    /** Tenants with their own group so far, {@code other} included once used. */
    int groups() {
        return groups.size();
    }

    private Group group(String tenant) {
        Group g = groups.get(tenant);
        if (g != null) {
            return g;
        }
        // One place is kept for "other", so the groups never exceed maxTenants + 1.
        String name = groups.size() < maxTenants || tenant.equals(OTHER) ? tenant : OTHER;
        return groups.computeIfAbsent(name, n -> new Group(parent.addGroup("tenant", n)));
    }

    /** A tenant's metric group; each metric is registered on first use, so a stage shows only what it counts. */
    private static final class Group {
        final MetricGroup group;
        final Map<String, Counter> counters = new HashMap<>();
        final Map<String, Histogram> histograms = new HashMap<>();

        Group(MetricGroup group) {
            this.group = group;
        }

        Counter counter(String name) {
            return counters.computeIfAbsent(name, group::counter);
        }

        Histogram histogram(String name) {
            return histograms.computeIfAbsent(name,
                    n -> group.histogram(n, new DescriptiveStatisticsHistogram(HISTOGRAM_WINDOW)));
        }
    }
}
