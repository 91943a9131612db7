package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.RecordSerde;
import io.flinkglm.connectors.kafka.RecordKafkaSink;
import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SamplingOverrides;
import io.flinkglm.records.Task;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import io.flinkglm.testkit.Await;
import io.flinkglm.testkit.KafkaMiniClusterExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Token budgets end to end, exactly once, under both policies: prompts of four tenants from a topic with Kafka timestamps in two
 * one-minute windows, failures injected before the chat pipeline, answers and dead letters through transactional
 * Kafka sinks. A read_committed consumer must see the hand-computed decisions once each, and the answers a
 * reference run of the admitted turns gives.
 *
 * <p>Each tenant talks in one conversation, so its records reach the budget stage in one order on every attempt
 * (see docs/ARCHITECTURE.md, Token budgets: with several upstream subtasks the interleaving is Flink's).
 */
class TokenBudgetExactlyOnceITCase {
    private static final int PARALLELISM = 2;
    private static final long SEED = 20261206L;
    private static final int FAILURES = 3;
    // A minute boundary ten minutes ago: recent enough for the broker's retention, and every window already started.
    private static final long WINDOW_0 = (System.currentTimeMillis() / 60_000 - 10) * 60_000;
    private static final String TEXT = "one more thing";

    @RegisterExtension
    static final KafkaMiniClusterExtension KAFKA =
            KafkaMiniClusterExtension.withSlots(PARALLELISM).withTinyModel(DType.BF16, 17);
    private static final ChatTopics TOPICS = new ChatTopics(KAFKA);

    @ParameterizedTest
    @EnumSource(GlmOptions.OverBudget.class)
    void turnsAreDecidedOnceAsWithoutFailures(GlmOptions.OverBudget policy) throws Exception {
        Configuration glm = TinyGlm.config(KAFKA.model());
        long c = TurnPlanner.ownTokens(Glm4Tokenizer.load(KAFKA.model()), prompt("probe", "acme"), true).length
                + TinyGlm.MAX_TOKENS; // every turn below costs c: same text, same max tokens
        glm.set(GlmOptions.TENANTS_BUDGETS, "acme:" + 2 * c + "/1min,beta:" + c + "/1min,default:" + 3 * c + "/1min");
        glm.set(GlmOptions.TENANTS_OVER_BUDGET, policy);

        // Five turns per tenant stamped in window 0, two in window 1; gamma has no budget. Plus one acme turn
        // larger than acme's whole budget.
        Map<ChatInput, Long> stamped = new LinkedHashMap<>();
        for (String tenant : new String[] {"acme", "beta", "gamma", null}) {
            for (int turn = 0; turn < 7; turn++) {
                stamped.put(ChatInput.of(prompt(name(tenant) + "/" + turn, tenant)),
                        (turn < 5 ? WINDOW_0 : WINDOW_0 + 60_000) + turn);
            }
        }
        stamped.put(ChatInput.of(new Prompt("acme-big/0", "acme-big", "acme", TEXT, null, null,
                new SamplingOverrides(null, null, null, 1000, null), null, Task.CHAT)), WINDOW_0);
        List<ChatInput> inputs = new ArrayList<>(stamped.keySet());
        // By hand, REJECT: acme 2 of 5 + 2, beta 1 + 1, gamma all 7, default 3 + 2; the big one is rejected. DEFER:
        // only the big one; the others wait for later windows, which (stamped ten minutes ago) have all started.
        Set<String> rejected = policy == GlmOptions.OverBudget.DEFER ? Set.of("acme-big/0") : Set.of("acme/2", "acme/3",
                "acme/4", "beta/1", "beta/2", "beta/3", "beta/4", "beta/6", "default/3", "default/4", "acme-big/0");

        String prompts = KAFKA.topic("prompts-" + policy);
        String completions = KAFKA.topic("completions-" + policy);
        String deadLetters = KAFKA.topic("dead-letters-" + policy);
        Map<TopicPartition, Long> ends = new HashMap<>();
        inputs.forEach(in -> ends.merge(ChatTopics.partitionOf(prompts, in), 1L, Long::sum));
        ExactlyOnceITCase.FailingMap.arm(new Random(SEED), inputs.size(), FAILURES);

        JobClient job = start(glm, prompts, completions, deadLetters, OffsetsInitializer.offsets(ends));
        int batch = (inputs.size() + 3) / 4;
        for (int from = 0; from < inputs.size(); from += batch) {
            int checkpoints = ExactlyOnceITCase.FailingMap.CHECKPOINTS.get();
            TOPICS.produce(prompts, inputs.subList(from, Math.min(from + batch, inputs.size())), stamped::get);
            Await.until("a checkpoint after batch " + from, () -> ExactlyOnceITCase.FailingMap.CHECKPOINTS.get() > checkpoints
                    || job.getJobStatus().get().isTerminalState());
        }
        job.getJobExecutionResult().get(3, TimeUnit.MINUTES);

        assertThat(ExactlyOnceITCase.FailingMap.FAILED.get()).as("failures injected at records %s",
                ExactlyOnceITCase.FailingMap.POINTS).isEqualTo(FAILURES);
        RecordSerde<Prompt> promptSerde = RecordSerde.create(Prompt.class, RecordFormat.JSON, null, prompts);
        RecordSerde<DeadLetter> letterSerde = RecordSerde.create(DeadLetter.class, RecordFormat.JSON, null, deadLetters);
        Map<String, String> letters = new TreeMap<>();
        for (DeadLetter d : KAFKA.readCommitted(deadLetters, letterSerde::decode)) {
            assertThat(d.stage()).isEqualTo(DeadLetter.Stage.BUDGET);
            String id = promptSerde.decode(d.original()).requestId();
            assertThat(letters.put(id, d.reason())).as("%s rejected once", id).isNull();
        }
        assertThat(letters.keySet()).isEqualTo(Set.copyOf(rejected));
        if (policy == GlmOptions.OverBudget.REJECT) {
            assertThat(letters.get("beta/6")).startsWith("budget_exceeded: tenant beta used " + c + " of " + c + " tokens");
        }
        assertThat(letters.get("acme-big/0")).contains("more than tenant acme's whole budget");

        List<ChatInput> admitted = inputs.stream().filter(in -> !rejected.contains(in.id())).toList();
        List<Completion> committed = TOPICS.readCommitted(completions);
        assertThat(GlmChatOperatorITCase.answers(committed)).isEqualTo(GlmChatOperatorITCase.expected(glm, admitted));
    }

    private static String name(String tenant) {
        return tenant == null ? "default" : tenant;
    }

    private static Prompt prompt(String requestId, String tenant) {
        return new Prompt(requestId, name(tenant), tenant, TEXT, null, null, null, null, Task.CHAT);
    }

    private static JobClient start(Configuration glm, String prompts, String completions, String deadLetters,
                                   OffsetsInitializer stoppingOffsets) throws Exception {
        Configuration restarts = new Configuration();
        restarts.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        restarts.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, FAILURES + 5);
        restarts.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(100));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(restarts);
        env.setParallelism(PARALLELISM);
        env.enableCheckpointing(200);
        GlmStreams.Chat chat = GlmStreams.chat(TOPICS.source(env, prompts, stoppingOffsets)
                .map(new ExactlyOnceITCase.FailingMap(), TypeInformation.of(ChatInput.class)).uid("failing-map")
                .keyBy(ChatInput::conversationId), glm);
        chat.completions().sinkTo(RecordKafkaSink.completions()
                .setBootstrapServers(KAFKA.bootstrapServers())
                .setTopic(completions)
                .setTransactionalIdPrefix(completions)
                .build()).uid("completions");
        chat.errors().sinkTo(RecordKafkaSink.deadLetters()
                .setBootstrapServers(KAFKA.bootstrapServers())
                .setTopic(deadLetters)
                .setTransactionalIdPrefix(deadLetters)
                .build()).uid("dead-letters");
        return env.executeAsync("exactly-once token budgets");
    }
}
