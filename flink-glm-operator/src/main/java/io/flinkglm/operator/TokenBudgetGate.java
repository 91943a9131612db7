package io.flinkglm.operator;

import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Task;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalLong;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * The budget stage: keyed by tenant ahead of the conversation stage, so a tenant spread over many conversations and
 * subtasks has one account ({@link GlmOptions#TENANTS_BUDGETS}). Each prompt is charged at admission its own
 * tokens (its messages through the chat template, or its text) plus its max tokens as a reservation, since its
 * output length is unknown before generation and nothing flows back from the chat stage exactly once.
 *
 * <p>Exactly once: the ledger ({@link TokenBudget.BudgetLedger}), the deferred turns and their timers are keyed
 * state, and {@link TokenBudget#charge} decides from the ledger, the charge and the record's timestamp in input
 * order, never from wall time; so a restore or a rescale decides every turn as a run without one did.
 *
 * <p>Over budget, {@link GlmOptions.OverBudget#REJECT} makes the turn one dead letter ({@code budget_exceeded},
 * stage {@code budget}) with the input's origin; {@code DEFER} charges it to the first later window with room and
 * keeps it in a FIFO per tenant until processing time reaches that window's start. A tenant's turns leave in their
 * order (a turn that fits queues behind its tenant's deferred ones); other tenants are other keys and go on.
 *
 * <p>Tool results carry no tenant: they continue a turn that was admitted and pass uncharged, keyed by their
 * conversation (they touch no state here). Prompts the chat stage will reject (broken records, bad sampling, a task
 * it does not serve, messages the template cannot render) pass uncharged too, so their dead letter keeps its
 * usual reason. So do prompts of tenants without a budget.
 *
 * <p>Runs in {@link TokenBudgetOperator}, which releases what is still held when a bounded input ends.
 *
 * <pre>{@code
 * inputs.keyBy(TokenBudgetGate::keyOf, Types.STRING)
 *       .transform("glm-budgets", TypeInformation.of(ChatInput.class), new TokenBudgetOperator(new TokenBudgetGate(config)));
 * }</pre>
 */
@Internal
public final class TokenBudgetGate extends KeyedProcessFunction<String, ChatInput, ChatInput> {
    private static final long serialVersionUID = 1L;

    /** The state whose keys are exactly the tenants holding deferred turns. */
    static final String HELD_STATE = "budget-deferred-bounds";

    private final Configuration config;

    private transient TokenBudgets budgets;
    private transient GlmOptions.OverBudget policy;
    private transient Glm4Tokenizer tokenizer;
    private transient ValueState<TokenBudget.BudgetLedger> ledgers;
    private transient KeyedFifo<DeferredTurn> deferred;
    private transient TenantMetrics metrics;

    public TokenBudgetGate(Configuration config) {
        this.config = config;
        TokenBudgets.of(config).orElseThrow(() -> new IllegalArgumentException(
                "the budget stage needs " + GlmOptions.TENANTS_BUDGETS.key()));
    }

    /** A prompt's key: its tenant ({@code default} when it has none); a tool result's: its conversation. */
    public static String keyOf(ChatInput in) {
        return in.prompt != null ? tenantOf(in.prompt) : in.conversationId();
    }

    static String tenantOf(Prompt prompt) {
        return prompt.tenant() != null ? prompt.tenant() : TenantMetrics.DEFAULT;
    }

    @Override
    public void open(OpenContext context) throws Exception {
        budgets = TokenBudgets.of(config).orElseThrow();
        policy = config.get(GlmOptions.TENANTS_OVER_BUDGET);
        tokenizer = Glm4Tokenizer.load(Path.of(config.get(GlmOptions.MODEL_PATH)));
        ledgers = getRuntimeContext().getState(
                new ValueStateDescriptor<>("budget-ledger", TypeInformation.of(TokenBudget.BudgetLedger.class)));
        deferred = new KeyedFifo<>(getRuntimeContext(), "budget-deferred", HELD_STATE,
                TypeInformation.of(DeferredTurn.class));
        metrics = new TenantMetrics(getRuntimeContext().getMetricGroup(), config.get(GlmOptions.TENANTS_METRICS_MAX));
    }

    @Override
    public void processElement(ChatInput in, Context ctx, Collector<ChatInput> out) throws Exception {
        String tenant = ctx.getCurrentKey();
        Optional<TokenBudget> budget = in.prompt != null ? budgets.of(tenant) : Optional.empty();
        OptionalLong tokens = budget.isPresent() ? charge(in.prompt) : OptionalLong.empty();
        if (tokens.isEmpty()) {
            out.collect(in); // a tool result, an unlimited tenant, or a prompt the chat stage rejects
            return;
        }
        TokenBudget.BudgetLedger ledger = ledgers.value();
        if (ledger == null) {
            ledger = new TokenBudget.BudgetLedger();
        }
        TokenBudget.BudgetDecision decision = budget.get().charge(ledger, tenant, tokens.getAsLong(), ctx.timestamp(), policy);
        ledgers.update(ledger);
        switch (decision.outcome()) {
            case REJECTED -> {
                metrics.rejected(tenant);
                ctx.output(GlmOutputs.ERRORS, DeadLetter.of(in.origin, DeadLetter.Stage.BUDGET, decision.reason()));
            }
            case ADMITTED -> {
                metrics.admitted(tenant, tokens.getAsLong());
                if (deferred.isEmpty()) {
                    out.collect(in);
                } else {
                    hold(in, decision.window(), ctx); // behind the tenant's deferred turns, so they keep their order
                }
            }
            case DEFERRED -> {
                metrics.deferred(tenant, tokens.getAsLong());
                hold(in, decision.window(), ctx);
            }
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<ChatInput> out) throws Exception {
        release(timestamp, out);
    }

    /** Releases the current tenant's held turns whose window starts by {@code time}, oldest first. */
    void release(long time, Collector<ChatInput> out) throws Exception {
        for (DeferredTurn head; (head = deferred.head()) != null && head.window <= time; deferred.removeHead()) {
            out.collect(head.input);
        }
    }

    private void hold(ChatInput in, long window, Context ctx) throws Exception {
        deferred.add(new DeferredTurn(in, window));
        ctx.timerService().registerProcessingTimeTimer(window);
    }

    /**
     * The tokens a prompt is charged: its own tokens plus its max tokens (the reservation); empty for a prompt the
     * chat stage will reject, which passes uncharged.
     */
    OptionalLong charge(Prompt prompt) {
        if (!prompt.violations().isEmpty() || !TurnPlanner.samplingViolations(prompt.sampling()).isEmpty()
                || TenantScheduling.priorityViolation(prompt).isPresent()
                || (prompt.task() != Task.CHAT && prompt.task() != Task.COMPLETE)
                || (prompt.task() == Task.COMPLETE && prompt.text() == null)) {
            return OptionalLong.empty();
        }
        int[] own;
        try {
            own = TurnPlanner.ownTokens(tokenizer, prompt, true);
        } catch (IllegalArgumentException withTools) { // ChatFormatException included
            // A later turn's tools are ignored by the chat stage, so broken tools must not make a turn free: charge
            // the messages alone. Messages that do not render are the chat stage's invalid_messages whatever the state.
            try {
                own = TurnPlanner.ownTokens(tokenizer, prompt, false);
            } catch (IllegalArgumentException messages) {
                return OptionalLong.empty();
            }
        }
        return OptionalLong.of((long) own.length + TurnPlanner.maxTokens(prompt.sampling(), config));
    }

    /** A turn held in state until its window starts. A Flink POJO. */
    public static class DeferredTurn {
        public ChatInput input;
        /** The start of the window it was charged to; it leaves when processing time reaches it. */
        public long window;

        public DeferredTurn() {}

        DeferredTurn(ChatInput input, long window) {
            this.input = input;
            this.window = window;
        }
    }
}
