package io.flinkglm.operator;

import io.flinkglm.records.Prompt;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.ReadableConfig;

/**
 * Where a prompt's {@code tenant} and {@code priority} meet the engine: the weights of {@link
 * GlmOptions#TENANTS_WEIGHTS}, the job's default priority, and the range a prompt's own priority must be in.
 *
 * <pre>{@code
 * Map<String, Double> weights = TenantScheduling.weights("acme:3,beta:1");  // {acme=3.0, beta=1.0}
 * int priority = TenantScheduling.priorityOf(input, conversation, TenantScheduling.defaultPriority(config));
 * }</pre>
 */
@Internal
public final class TenantScheduling {
    private TenantScheduling() {}

    /** Parses {@code tenant:weight,...}; blank or null is no weights. */
    public static Map<String, Double> weights(String spec) {
        Map<String, Double> weights = new LinkedHashMap<>();
        if (spec == null || spec.isBlank()) {
            return weights;
        }
        for (String pair : spec.split(",")) {
            int colon = pair.lastIndexOf(':');
            String tenant = colon < 0 ? "" : pair.substring(0, colon).trim();
            String weight = colon < 0 ? "" : pair.substring(colon + 1).trim();
            double w;
            try {
                w = Double.parseDouble(weight);
            } catch (NumberFormatException e) {
                w = Double.NaN;
            }
            if (tenant.isEmpty() || !(w > 0) || Double.isInfinite(w)) {
                throw new IllegalArgumentException(GlmOptions.TENANTS_WEIGHTS.key() + " has '" + pair.trim()
                        + "'; write tenant:weight pairs with positive weights, e.g. acme:3,beta:1");
            }
            if (weights.put(tenant, w) != null) {
                throw new IllegalArgumentException(GlmOptions.TENANTS_WEIGHTS.key() + " names tenant " + tenant
                        + " twice; give each tenant one weight");
            }
        }
        return weights;
    }

    public static Map<String, Double> weights(ReadableConfig config) {
        return weights(config.get(GlmOptions.TENANTS_WEIGHTS));
    }

    /** The job's default priority, checked against the range a prompt may ask for. */
    public static int defaultPriority(ReadableConfig config) {
        int p = config.get(GlmOptions.GENERATION_PRIORITY);
        if (p < Prompt.MIN_PRIORITY || p > Prompt.MAX_PRIORITY) {
            throw new IllegalArgumentException(GlmOptions.GENERATION_PRIORITY.key() + " is " + p + " but must be from "
                    + Prompt.MIN_PRIORITY + " to " + Prompt.MAX_PRIORITY);
        }
        return p;
    }

    /**
     * Why a prompt's own priority cannot be served ({@code invalid_priority: ...}), or empty. The range keeps
     * the engine's classes few and leaves the ordering meaningful to producers; a value outside it is a
     * producer bug, which a dead letter shows rather than a silent clamp.
     */
    public static Optional<String> priorityViolation(Prompt prompt) {
        return priorityViolation(prompt == null ? null : prompt.priority());
    }

    /** As {@link #priorityViolation(Prompt)} for a priority from elsewhere (an SQL row's {@code priority} column). */
    public static Optional<String> priorityViolation(Integer p) {
        if (p == null || (p >= Prompt.MIN_PRIORITY && p <= Prompt.MAX_PRIORITY)) {
            return Optional.empty();
        }
        return Optional.of("invalid_priority: priority " + p + " is outside " + Prompt.MIN_PRIORITY + ".."
                + Prompt.MAX_PRIORITY + " (lower is served sooner; leave it out for the job's default)");
    }

    /**
     * The engine priority of a turn: its prompt's, else the job default. A tool-result turn carries none and runs
     * at the priority of the prompt it continues, which the conversation remembers.
     */
    public static int priorityOf(ChatInput input, ConversationState state, int defaultPriority) {
        Integer p = input.prompt != null ? input.prompt.priority() : state.priority;
        return p != null ? p : defaultPriority;
    }

    /** The tenant of a turn (null: the default tenant): its prompt's, or for a tool result the one it continues. */
    public static String tenantOf(ChatInput input, ConversationState state) {
        return input.prompt != null ? input.prompt.tenant() : state.tenant;
    }

    /** Remembers the prompt's tenant and priority in the conversation, for the tool-result turns that continue it. */
    static void remember(ChatInput input, ConversationState state) {
        if (input.prompt != null) {
            state.tenant = input.prompt.tenant();
            state.priority = input.prompt.priority();
        }
    }
}
