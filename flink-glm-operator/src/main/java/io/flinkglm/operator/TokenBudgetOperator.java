package io.flinkglm.operator;

import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.annotation.Internal;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.api.operators.TimestampedCollector;

/**
 * The budget stage's operator: {@link TokenBudgetGate} in Flink's keyed process operator, plus the end of a bounded
 * input. There, pending processing-time timers would never fire and held turns would be lost; so every tenant's
 * held turns leave at once, in order. Their windows were charged already, and no later input can compete for them.
 *
 * <pre>{@code
 * inputs.keyBy(TokenBudgetGate::keyOf, Types.STRING)
 *       .transform("glm-budgets", TypeInformation.of(ChatInput.class), new TokenBudgetOperator(new TokenBudgetGate(config)));
 * }</pre>
 */
@Internal
public final class TokenBudgetOperator extends KeyedProcessOperator<String, ChatInput, ChatInput> implements BoundedOneInput {
    private static final long serialVersionUID = 1L;

    public TokenBudgetOperator(TokenBudgetGate gate) {
        super(gate);
    }

    @Override
    public void endInput() throws Exception {
        List<String> tenants;
        try (Stream<Object> keys = getKeyedStateBackend().getKeys(TokenBudgetGate.HELD_STATE, VoidNamespace.INSTANCE)) {
            tenants = keys.map(String.class::cast).collect(Collectors.toList());
        }
        TimestampedCollector<ChatInput> out = new TimestampedCollector<>(output);
        out.eraseTimestamp();
        for (String tenant : tenants) {
            setCurrentKey(tenant);
            ((TokenBudgetGate) getUserFunction()).release(Long.MAX_VALUE, out);
        }
    }
}
