package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkglm.operator.GlmOptions.OverBudget;
import io.flinkglm.operator.TokenBudget.BudgetDecision;
import io.flinkglm.operator.TokenBudget.BudgetDecision.Outcome;
import io.flinkglm.operator.TokenBudget.BudgetLedger;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;

/** The budget arithmetic alone: parsing, window assignment, REJECT, DEFER to the first window with room, oversize. */
class TokenBudgetTest {
    private static final long MINUTE = 60_000;
    private final TokenBudget budget = new TokenBudget(100, MINUTE);

    @Test
    void parsesNamedTenantsAndADefaultForTheRest() {
        TokenBudgets budgets = TokenBudgets.parse("acme:2000000/1h, beta:50000/10min,*:1000/30s");

        assertThat(budgets.of("acme")).contains(new TokenBudget(2_000_000, 3_600_000));
        assertThat(budgets.of("beta")).contains(new TokenBudget(50_000, 600_000));
        assertThat(budgets.of("gamma")).contains(new TokenBudget(1000, 30_000));
        assertThat(TokenBudgets.parse("acme:5/1d").of("beta")).as("no * entry: unnamed tenants are unlimited").isEmpty();
    }

    @Test
    void aMalformedEntryFailsNamingIt() {
        for (String bad : List.of("acme:2k/1h", "acme:100", "acme/1h", ":100/1h", "acme:0/1h", "acme:100/0s",
                "acme:100/soon", "acme:100/1h,", "acme:-5/1h")) {
            assertThatThrownBy(() -> TokenBudgets.parse(bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("glm.tenants.budgets has '");
        }
        assertThatThrownBy(() -> TokenBudgets.parse("acme:1/1h,acme:2/1h")).hasMessageContaining("names tenant acme twice");
        assertThatThrownBy(() -> TokenBudgets.parse("*:1/1h,*:2/1h")).hasMessageContaining("names tenant * twice");
    }

    @Test
    void aMalformedSpecFailsTheJobAtConstruction() {
        Configuration config = new Configuration();
        config.set(GlmOptions.MODEL_PATH, "/nowhere");
        config.set(GlmOptions.TENANTS_BUDGETS, "acme:100/1h,beta:lots/1h");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        var inputs = env.fromData(ChatInput.of(TinyGlm.prompt("r", "c", "hi"))).keyBy(ChatInput::conversationId);

        assertThatThrownBy(() -> GlmStreams.chat(inputs, config)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("glm.tenants.budgets has 'beta:lots/1h'; write tenant:tokens/window entries with a positive"
                        + " whole number of tokens and a window such as 30s, 10min, 1h or 1d,"
                        + " e.g. acme:2000000/1h,*:50000/10min");
    }

    @Test
    void windowsTumbleFromTheEpoch() {
        assertThat(budget.windowOf(0)).isZero();
        assertThat(budget.windowOf(MINUTE - 1)).isZero();
        assertThat(budget.windowOf(MINUTE)).isEqualTo(MINUTE);
        assertThat(budget.windowOf(-1)).isEqualTo(-MINUTE);
    }

    @Test
    void turnsAreChargedToTheirRecordsWindowWhileItHasRoom() {
        BudgetLedger ledger = new BudgetLedger();
        assertThat(charge(ledger, 60, 5_000, OverBudget.REJECT).outcome()).isEqualTo(Outcome.ADMITTED);
        assertThat(charge(ledger, 40, 59_999, OverBudget.REJECT)).isEqualTo(BudgetDecision.admitted(0));
        BudgetDecision full = charge(ledger, 1, 59_999, OverBudget.REJECT);
        assertThat(full.outcome()).isEqualTo(Outcome.REJECTED);
        assertThat(full.reason()).startsWith("budget_exceeded: tenant acme used 100 of 100 tokens in the 1m window from "
                + "1970-01-01T00:00:00Z");
        assertThat(charge(ledger, 100, MINUTE, OverBudget.REJECT)).as("the next window starts empty")
                .isEqualTo(BudgetDecision.admitted(MINUTE));
        assertThat(ledger.windows).as("past windows are forgotten").containsExactly(MINUTE);
    }

    @Test
    void deferChargesTheFirstLaterWindowWithRoomAndKeepsTheTenantsOrder() {
        BudgetLedger ledger = new BudgetLedger();
        List<BudgetDecision> decisions = new ArrayList<>();
        for (long tokens : new long[] {70, 50, 40, 20, 90, 10}) {
            decisions.add(charge(ledger, tokens, 1_000, OverBudget.DEFER));
        }
        // 70 -> window 0 (70); 50 -> 120 > 100, window 1 (50); 40 -> window 1 (90), never back to window 0 where it
        // would have fit, so the tenant's turns keep their order; 20 -> window 2 (20); 90 -> window 3 (90);
        // 10 -> window 3 (100).
        assertThat(decisions).containsExactly(BudgetDecision.admitted(0), BudgetDecision.deferred(MINUTE),
                BudgetDecision.deferred(MINUTE), BudgetDecision.deferred(2 * MINUTE),
                BudgetDecision.deferred(3 * MINUTE), BudgetDecision.deferred(3 * MINUTE));
        assertThat(charge(ledger, 10, 2 * MINUTE + 1, OverBudget.DEFER)).as("never before the previous turn's window")
                .isEqualTo(BudgetDecision.deferred(4 * MINUTE));
        assertThat(charge(ledger, 10, 4 * MINUTE, OverBudget.DEFER)).isEqualTo(BudgetDecision.admitted(4 * MINUTE));
    }

    @Test
    void aTurnLargerThanTheWholeBudgetIsRejectedUnderBothPolicies() {
        for (OverBudget policy : OverBudget.values()) {
            BudgetLedger ledger = new BudgetLedger();
            BudgetDecision d = charge(ledger, 101, 0, policy);
            assertThat(d.outcome()).as(policy.name()).isEqualTo(Outcome.REJECTED);
            assertThat(d.reason()).isEqualTo("budget_exceeded: the turn needs 101 tokens, more than tenant acme's whole"
                    + " budget of 100 per 1m");
            assertThat(ledger.windows).as("nothing charged").isEmpty();
        }
    }

    @Test
    void aRecordOlderThanTheTenantsNewestIsChargedFromTheNewestWindow() {
        BudgetLedger ledger = new BudgetLedger();
        charge(ledger, 10, 3 * MINUTE, OverBudget.REJECT);
        assertThat(charge(ledger, 10, 0, OverBudget.REJECT)).isEqualTo(BudgetDecision.admitted(3 * MINUTE));
        assertThat(budget.charge(ledger, "acme", 10, null, OverBudget.REJECT)).as("no timestamp: the tenant's current window")
                .isEqualTo(BudgetDecision.admitted(3 * MINUTE));
        assertThat(ledger.used(3 * MINUTE)).isEqualTo(30);
    }

    private BudgetDecision charge(BudgetLedger ledger, long tokens, long timestamp, OverBudget policy) {
        return budget.charge(ledger, "acme", tokens, timestamp, policy);
    }
}
