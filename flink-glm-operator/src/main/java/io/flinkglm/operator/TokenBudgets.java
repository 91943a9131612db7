package io.flinkglm.operator;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.util.TimeUtils;

/**
 * The budgets of {@link GlmOptions#TENANTS_BUDGETS}: tokens per tumbling window, per tenant, with {@code *} for
 * every tenant not named. Parsed strictly, so a typo fails the job at construction rather than leaving a tenant
 * unlimited.
 *
 * <pre>{@code
 * TokenBudgets budgets = TokenBudgets.parse("acme:2000000/1h,*:50000/10min");
 * budgets.of("acme");   // 2,000,000 tokens per hour
 * budgets.of("beta");   // 50,000 tokens per 10 minutes, beta's own
 * }</pre>
 */
@Internal
public final class TokenBudgets {
    /** The entry that applies to every tenant the spec does not name. */
    static final String ANY_TENANT = "*";

    private final Map<String, TokenBudget> named;
    private final TokenBudget others;

    private TokenBudgets(Map<String, TokenBudget> named, TokenBudget others) {
        this.named = Map.copyOf(named);
        this.others = others;
    }

    /** The budgets of the job, or empty when {@link GlmOptions#TENANTS_BUDGETS} is unset or blank. */
    public static Optional<TokenBudgets> of(ReadableConfig config) {
        String spec = config.get(GlmOptions.TENANTS_BUDGETS);
        return spec == null || spec.isBlank() ? Optional.empty() : Optional.of(parse(spec));
    }

    /**
     * Parses {@code tenant:tokens/window,...}.
     *
     * @throws IllegalArgumentException naming the bad entry: no colon or slash, tokens not a positive whole number,
     *     a window that is not a positive duration, a tenant named twice
     */
    public static TokenBudgets parse(String spec) {
        Map<String, TokenBudget> named = new LinkedHashMap<>();
        TokenBudget others = null;
        for (String raw : spec.split(",", -1)) {
            String entry = raw.trim();
            int colon = entry.lastIndexOf(':');
            int slash = entry.indexOf('/', Math.max(colon, 0));
            String tenant = colon < 0 ? "" : entry.substring(0, colon).trim();
            TokenBudget budget = null;
            if (!tenant.isEmpty() && slash > colon) {
                budget = budget(entry.substring(colon + 1, slash).trim(), entry.substring(slash + 1).trim());
            }
            if (budget == null) {
                throw new IllegalArgumentException(GlmOptions.TENANTS_BUDGETS.key() + " has '" + entry + "'; write "
                        + "tenant:tokens/window entries with a positive whole number of tokens and a window such as "
                        + "30s, 10min, 1h or 1d, e.g. acme:2000000/1h,*:50000/10min");
            }
            boolean twice = tenant.equals(ANY_TENANT) ? others != null : named.containsKey(tenant);
            if (twice) {
                throw new IllegalArgumentException(GlmOptions.TENANTS_BUDGETS.key() + " names tenant " + tenant
                        + " twice; give each tenant one budget");
            }
            if (tenant.equals(ANY_TENANT)) {
                others = budget;
            } else {
                named.put(tenant, budget);
            }
        }
        return new TokenBudgets(named, others);
    }

    /** The budget of {@code tenant} (the tenant's own, else {@code *}'s), or empty: the tenant is not limited. */
    public Optional<TokenBudget> of(String tenant) {
        return Optional.ofNullable(named.getOrDefault(tenant, others));
    }

    private static TokenBudget budget(String tokens, String window) {
        long limit;
        Duration length;
        try {
            limit = Long.parseLong(tokens);
            length = TimeUtils.parseDuration(window);
        } catch (IllegalArgumentException e) { // NumberFormatException included
            return null;
        }
        return limit > 0 && length.toMillis() > 0 ? new TokenBudget(limit, length.toMillis()) : null;
    }
}
