package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SamplingOverrides;
import io.flinkglm.records.Task;
import io.flinkglm.records.ToolResult;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The budget stage in Flink's keyed operator harness, with the tiny model's tokenizer and real keyed state: which
 * turns leave when, against a hand-computed schedule, the same with a snapshot and restore in the middle and after
 * a rescale from 2 to 3 subtasks.
 *
 * <p>The input: six tenants (the last one sends without a tenant, so it is the tenant {@code default}), each with
 * eight equal turns of {@code c} tokens stamped in window 0, then two stamped in window 2; every tenant's budget is
 * {@code 3c} per minute. Tenant t0 also sends one turn larger than the whole budget, and a tool result passes.
 */
class TokenBudgetGateHarnessTest {
    private static final long MINUTE = 60_000;
    private static final int MAX_PARALLELISM = 128;
    private static final int TENANTS = 6;
    private static final String TEXT = "how many tokens is this?";

    private static Configuration config;
    private static long turnTokens; // c: the prompt's own tokens plus its max tokens

    @BeforeAll
    static void model(@TempDir Path dir) throws Exception {
        config = TinyGlm.write(dir, 7);
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(dir);
        turnTokens = TurnPlanner.ownTokens(tokenizer, prompt("probe", "t0"), true).length + TinyGlm.MAX_TOKENS;
        config.set(GlmOptions.TENANTS_BUDGETS, "*:" + 3 * turnTokens + "/1min");
    }

    @Test
    void deferredTurnsLeaveWhenTheirWindowStartsInTheTenantsOrder() throws Exception {
        Schedule schedule;
        try (Gates gates = new Gates(config(GlmOptions.OverBudget.DEFER), 1, null, 0)) {
            schedule = gates.run(0, inputs().size(), true);
        }

        // Per tenant: window 0 takes 3 turns, 3 more are deferred to window 1, 2 to window 2; in window 2 the first
        // late turn fits behind them (admitted, but held so the tenant's order holds) and the second goes to window 3.
        assertThat(schedule.released()).isEqualTo(Map.of(0L, 3 * TENANTS + 1, MINUTE, 3 * TENANTS,
                2 * MINUTE, 3 * TENANTS, 3 * MINUTE, TENANTS));
        assertThat(schedule.deadLetters()).singleElement().satisfies(reason -> assertThat(reason).isEqualTo(
                "budget_exceeded: the turn needs " + (turnTokens + 994) + " tokens, more than tenant t0's whole budget of "
                        + 3 * turnTokens + " per 1m"));
        for (int t = 0; t < TENANTS; t++) {
            String tenant = tenantName(t);
            assertThat(schedule.order().stream().filter(id -> id.startsWith(tenant + "/")).toList())
                    .as("tenant %s leaves in its input order", tenant)
                    .containsExactly(idsOf(tenant));
        }
    }

    @Test
    void theEndOfABoundedInputReleasesEveryHeldTurnInOrder() throws Exception {
        Schedule schedule;
        try (Gates gates = new Gates(config(GlmOptions.OverBudget.DEFER), 1, null, 0)) {
            gates.run(0, inputs().size(), false); // processing time stays at window 1's start: windows 2, 3 wait
            schedule = gates.endInput();
        }

        assertThat(schedule.released()).isEqualTo(Map.of(0L, 3 * TENANTS + 1, MINUTE, 3 * TENANTS,
                Long.MAX_VALUE, 4 * TENANTS));
        for (int t = 0; t < TENANTS; t++) {
            String tenant = tenantName(t);
            assertThat(schedule.order().stream().filter(id -> id.startsWith(tenant + "/")).toList())
                    .containsExactly(idsOf(tenant));
        }
    }

    @Test
    void aTurnIsChargedItsOwnTokensPlusItsMaxTokensAndBrokenToolsDoNotMakeItFree() throws Exception {
        try (Gates gates = new Gates(config(GlmOptions.OverBudget.DEFER), 1, null, 0)) {
            TokenBudgetGate gate = gates.gate();
            Prompt longer = new Prompt("l", "c", "t0", TEXT, null, null,
                    new SamplingOverrides(null, null, null, 100, null), null, Task.CHAT);
            Prompt brokenTools = new Prompt("b", "c", "t0", TEXT, null, "not json", null, null, Task.CHAT);
            Prompt brokenSampling = new Prompt("s", "c", "t0", TEXT, null, null,
                    new SamplingOverrides(null, null, null, -5, null), null, Task.CHAT);

            assertThat(gate.charge(prompt("p", "t0"))).hasValue(turnTokens);
            assertThat(gate.charge(longer)).hasValue(turnTokens - TinyGlm.MAX_TOKENS + 100);
            assertThat(gate.charge(brokenTools)).as("a later turn's tools are ignored: its messages are charged")
                    .hasValue(turnTokens);
            assertThat(gate.charge(brokenSampling)).as("the chat stage's dead letter, uncharged").isEmpty();
        }
    }

    @Test
    void rejectMakesEveryTurnPastTheWindowADeadLetter() throws Exception {
        Schedule schedule;
        try (Gates gates = new Gates(config(GlmOptions.OverBudget.REJECT), 1, null, 0)) {
            schedule = gates.run(0, inputs().size(), true);
        }

        // Per tenant: 3 of the 8 early turns fit, 5 are rejected; both late turns fit window 2. Plus the oversize one.
        assertThat(schedule.released()).isEqualTo(Map.of(0L, 3 * TENANTS + 1, MINUTE, 2 * TENANTS));
        assertThat(schedule.deadLetters()).hasSize(5 * TENANTS + 1);
        assertThat(schedule.deadLetters().stream().filter(r -> r.contains("used " + 3 * turnTokens + " of ")))
                .hasSize(5 * TENANTS);
    }

    @Test
    void aSnapshotAndRestoreInTheMiddleDecidesExactlyAsARunWithout() throws Exception {
        Configuration defer = config(GlmOptions.OverBudget.DEFER);
        Schedule uninterrupted;
        try (Gates gates = new Gates(defer, 1, null, 0)) {
            uninterrupted = gates.run(0, inputs().size(), true);
        }

        int half = inputs().size() / 2;
        Schedule before;
        OperatorSubtaskState snapshot;
        try (Gates first = new Gates(defer, 1, null, 0)) {
            before = first.run(0, half, false);
            snapshot = first.snapshot();
        }
        Schedule after;
        try (Gates restored = new Gates(defer, 1, snapshot, 1)) {
            after = restored.run(half, inputs().size(), true);
        }

        assertThat(before.plus(after)).isEqualTo(uninterrupted);
    }

    @Test
    void aRescaleFromTwoToThreeSubtasksDecidesExactlyAsARunWithout() throws Exception {
        Configuration defer = config(GlmOptions.OverBudget.DEFER);
        Schedule uninterrupted;
        try (Gates gates = new Gates(defer, 1, null, 0)) {
            uninterrupted = gates.run(0, inputs().size(), true);
        }

        int half = inputs().size() / 2;
        Schedule before;
        OperatorSubtaskState snapshot;
        try (Gates two = new Gates(defer, 2, null, 0)) {
            before = two.run(0, half, false);
            snapshot = two.snapshot();
        }
        Schedule after;
        try (Gates three = new Gates(defer, 3, snapshot, 2)) {
            assertThat(three.subtasksWithState()).as("the tenants spread over the new subtasks").isGreaterThan(1);
            after = three.run(half, inputs().size(), true);
        }

        assertThat(before.plus(after).released()).isEqualTo(uninterrupted.released());
        assertThat(before.plus(after).deadLetters()).isEqualTo(uninterrupted.deadLetters());
        assertThat(before.plus(after).byTenant()).isEqualTo(uninterrupted.byTenant());
    }

    private static Configuration config(GlmOptions.OverBudget policy) {
        Configuration c = new Configuration(config);
        c.set(GlmOptions.TENANTS_OVER_BUDGET, policy);
        return c;
    }

    private static Prompt prompt(String requestId, String tenant) {
        return new Prompt(requestId, "conversation-" + requestId, tenant, TEXT, null, null, null, null, Task.CHAT);
    }

    /** The tenant key's name; the last tenant sends without one. */
    private static String tenantOnWire(int t) {
        return t == TENANTS - 1 ? null : "t" + t;
    }

    private static String tenantName(int t) {
        return t == TENANTS - 1 ? TenantMetrics.DEFAULT : "t" + t;
    }

    /** The whole input in order, each with its record timestamp and the processing time at which it arrives. */
    private static List<Timed> inputs() {
        List<Timed> in = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            for (int t = 0; t < TENANTS; t++) {
                in.add(new Timed(ChatInput.of(prompt(tenantName(t) + "/" + i, tenantOnWire(t))), 1_000 + i, 0));
            }
        }
        in.add(new Timed(ChatInput.of(new Prompt("t0/oversize", "conversation-big", "t0", TEXT, null, null,
                new SamplingOverrides(null, null, null, 1000, null), null, Task.CHAT)), 2_000, 0));
        in.add(new Timed(ChatInput.of(new ToolResult("conversation-x", "call-1", "42")), 2_000, 0));
        for (int i = 8; i < 10; i++) {
            for (int t = 0; t < TENANTS; t++) {
                in.add(new Timed(ChatInput.of(prompt(tenantName(t) + "/" + i, tenantOnWire(t))), 2 * MINUTE + i, MINUTE));
            }
        }
        return in;
    }

    private record Timed(ChatInput input, long timestamp, long arrivesAt) {}

    /** The ids of a tenant's turns in input order, the oversize one excluded. */
    private static String[] idsOf(String tenant) {
        String[] ids = new String[10];
        for (int i = 0; i < 10; i++) {
            ids[i] = tenant + "/" + i;
        }
        return ids;
    }

    /**
     * What the stage did: at which processing time each turn left, in order, and the dead letters' reasons.
     *
     * @param releasedAt output id -> processing time at which it left
     */
    private record Schedule(Map<String, Long> releasedAt, List<String> order, List<String> deadLetters) {
        Map<Long, Integer> released() {
            Map<Long, Integer> counts = new TreeMap<>();
            releasedAt.values().forEach(t -> counts.merge(t, 1, Integer::sum));
            return counts;
        }

        Map<String, List<String>> byTenant() {
            return order.stream().collect(Collectors.groupingBy(id -> id.substring(0, id.indexOf('/') + 1),
                    TreeMap::new, Collectors.toList()));
        }

        Schedule plus(Schedule later) {
            Map<String, Long> at = new TreeMap<>(releasedAt);
            at.putAll(later.releasedAt);
            List<String> o = new ArrayList<>(order);
            o.addAll(later.order);
            List<String> d = new ArrayList<>(deadLetters);
            d.addAll(later.deadLetters);
            return new Schedule(at, o, d);
        }
    }

    /** The budget stage at some parallelism, each input routed to the subtask that owns its key, as Flink does. */
    private static final class Gates implements AutoCloseable {
        private final List<KeyedOneInputStreamOperatorTestHarness<String, ChatInput, ChatInput>> subtasks = new ArrayList<>();
        private final int[] taken;
        private final int[] deadTaken;
        private long now;
        private final Map<String, Long> releasedAt = new TreeMap<>();
        private final List<String> order = new ArrayList<>();
        private final List<String> deadLetters = new ArrayList<>();

        /** @param restored a repackaged snapshot of {@code restoredParallelism} subtasks, or null to start empty */
        Gates(Configuration config, int parallelism, OperatorSubtaskState restored, int restoredParallelism)
                throws Exception {
            for (int i = 0; i < parallelism; i++) {
                var harness = new KeyedOneInputStreamOperatorTestHarness<>(
                        new TokenBudgetOperator(new TokenBudgetGate(config)), TokenBudgetGate::keyOf, Types.STRING,
                        MAX_PARALLELISM, parallelism, i);
                if (restored != null) {
                    harness.initializeState(AbstractStreamOperatorTestHarness.repartitionOperatorState(
                            restored, MAX_PARALLELISM, restoredParallelism, parallelism, i));
                }
                harness.open();
                harness.setProcessingTime(0);
                subtasks.add(harness);
            }
            taken = new int[parallelism];
            deadTaken = new int[parallelism];
        }

        /** Sends inputs {@code from..to-1}, moving processing time as they arrive; then, if asked, on to the end. */
        Schedule run(int from, int to, boolean finish) throws Exception {
            List<Timed> inputs = inputs();
            for (Timed in : inputs.subList(from, to)) {
                advanceTo(Math.max(now, in.arrivesAt()));
                int subtask = KeyGroupRangeAssignment.assignKeyToParallelOperator(
                        TokenBudgetGate.keyOf(in.input()), MAX_PARALLELISM, subtasks.size());
                subtasks.get(subtask).processElement(in.input(), in.timestamp());
                collect();
            }
            if (finish) {
                for (long t = MINUTE; t <= 5 * MINUTE; t += MINUTE) {
                    advanceTo(Math.max(now, t));
                }
            }
            return new Schedule(releasedAt, order, deadLetters);
        }

        /** The first subtask's budget function. */
        TokenBudgetGate gate() {
            return (TokenBudgetGate) ((TokenBudgetOperator) subtasks.get(0).getOperator()).getUserFunction();
        }

        /** Ends the input of every subtask; what leaves then is counted at time {@code Long.MAX_VALUE}. */
        Schedule endInput() throws Exception {
            now = Long.MAX_VALUE;
            for (var s : subtasks) {
                s.endInput();
            }
            collect();
            return new Schedule(releasedAt, order, deadLetters);
        }

        void advanceTo(long time) throws Exception {
            now = time;
            for (var s : subtasks) {
                s.setProcessingTime(time);
            }
            collect();
        }

        private void collect() {
            for (int i = 0; i < subtasks.size(); i++) {
                List<ChatInput> out = subtasks.get(i).extractOutputValues();
                for (ChatInput in : out.subList(taken[i], out.size())) {
                    releasedAt.put(in.id(), now);
                    order.add(in.id());
                }
                taken[i] = out.size();
                var dead = subtasks.get(i).getSideOutput(GlmOutputs.ERRORS);
                List<StreamRecord<DeadLetter>> letters = dead == null ? List.of() : new ArrayList<>(dead);
                for (StreamRecord<DeadLetter> d : letters.subList(deadTaken[i], letters.size())) {
                    deadLetters.add(d.getValue().reason());
                    assertThat(d.getValue().stage()).isEqualTo(DeadLetter.Stage.BUDGET);
                }
                deadTaken[i] = letters.size();
            }
        }

        OperatorSubtaskState snapshot() throws Exception {
            OperatorSubtaskState[] states = new OperatorSubtaskState[subtasks.size()];
            for (int i = 0; i < states.length; i++) {
                states[i] = subtasks.get(i).snapshot(1L, 1L);
            }
            return AbstractStreamOperatorTestHarness.repackageState(states);
        }

        int subtasksWithState() throws Exception {
            int n = 0;
            for (var s : subtasks) {
                n += s.numKeyedStateEntries() > 0 ? 1 : 0;
            }
            return n;
        }

        @Override
        public void close() throws Exception {
            for (var s : subtasks) {
                s.close();
            }
        }
    }
}
