package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.connectors.kafka.RecordKafkaSink;
import io.flinkglm.records.Completion;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Sourced;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.testkit.Await;
import io.flinkglm.testkit.KafkaMiniClusterExtension;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Exactly-once end to end: prompts from a topic, failures injected between the source and the chat
 * operator, completions through the transactional Kafka sink. A read_committed consumer must see
 * what a run without failures gives: every turn answered once, with the same text.
 */
class ExactlyOnceITCase {
    private static final int PARALLELISM = 2;
    private static final int CONVERSATIONS = 12;
    private static final int TURNS = 3;
    private static final int FAILURES = 3;
    private static final long SEED = 20260522L;

    @RegisterExtension
    static final KafkaMiniClusterExtension KAFKA =
            KafkaMiniClusterExtension.withSlots(PARALLELISM).withTinyModel(DType.BF16, 13);
    private static final ChatTopics TOPICS = new ChatTopics(KAFKA);

    @Test
    void injectedFailuresNeitherLoseNorDuplicateAnyAnswer() throws Exception {
        Configuration glm = TinyGlm.config(KAFKA.model());
        List<ChatInput> inputs = TinyGlm.conversations("eo", CONVERSATIONS, TURNS);

        List<Completion> committed = runWithFailures(glm, inputs, "eo", FAILURES);

        assertThat(GlmChatOperatorITCase.answers(committed)).isEqualTo(GlmChatOperatorITCase.expected(glm, inputs));
    }

    /**
     * Two 150-turn conversations in a 512-token window, sampled at temperature 0.8: where each turn cuts its
     * history, and so every token after the first cut, must come out the same when the job is replayed after
     * failures, because the cut depends on the conversation's state alone.
     */
    @ParameterizedTest
    @EnumSource(value = GlmOptions.ContextOverflow.class, names = {"TRUNCATE_OLDEST", "RESET"})
    void aContextPolicyCutsTheSameTurnsWhenReplayedAfterFailures(GlmOptions.ContextOverflow policy) throws Exception {
        Configuration glm = TinyGlm.config(KAFKA.model());
        glm.set(GlmOptions.MAX_CONTEXT_TOKENS, 512);
        glm.set(GlmOptions.CONTEXT_OVERFLOW, policy);
        glm.set(GlmOptions.TEMPERATURE, 0.8);
        String name = "long-" + policy.name().toLowerCase(Locale.ROOT).replace('_', '-');
        List<ChatInput> inputs = TinyGlm.conversations(name, 2, 150);

        List<Completion> clean = runWithFailures(glm, inputs, name + "-clean", 0);
        List<Completion> replayed = runWithFailures(glm, inputs, name + "-failing", FAILURES);

        // At temperature 0.8 the random model now and then emits a function call instead of text.
        assertThat(clean).as("turns answered with text").hasSizeGreaterThan(inputs.size() * 9 / 10);
        if (policy == GlmOptions.ContextOverflow.RESET) {
            assertThat(clean).filteredOn(Completion::contextReset).as("turns that started over").isNotEmpty();
        } else {
            assertThat(clean).extracting(Completion::contextTurnsDropped).as("turns dropped per turn")
                    .anySatisfy(dropped -> assertThat(dropped).isPositive());
        }
        assertThat(byRequest(replayed)).isEqualTo(byRequest(clean));
    }

    /** What of a completion a replay must reproduce: its text, its token counts and its context cut. */
    private static Map<String, List<Object>> byRequest(List<Completion> completions) {
        Map<String, List<Object>> byRequest = new TreeMap<>();
        for (Completion c : completions) {
            List<Object> seen = byRequest.put(c.requestId(), List.of(c.text(), c.promptTokens(), c.completionTokens(),
                    c.contextTurnsDropped(), c.contextReset()));
            assertThat(seen).as("answers to %s", c.requestId()).isNull();
        }
        return byRequest;
    }

    /**
     * Runs the chat job over {@code inputs} with {@code failures} failures injected between checkpoints and
     * returns what a read_committed consumer sees on its completions topic.
     */
    private static List<Completion> runWithFailures(Configuration glm, List<ChatInput> inputs, String name,
                                                    int failures) throws Exception {
        String prompts = KAFKA.topic(name + "-prompts");
        String completions = KAFKA.topic(name + "-completions");
        Map<TopicPartition, Long> ends = new HashMap<>();
        inputs.forEach(in -> ends.merge(ChatTopics.partitionOf(prompts, in), 1L, Long::sum));
        FailingMap.arm(new Random(SEED), inputs.size(), failures);

        JobClient job = start(glm, prompts, completions, OffsetsInitializer.offsets(ends));
        // Prompts arrive in six batches, each after a checkpoint completed: the failures then fall
        // between checkpoints, with turns in flight and queued, not all before the first one.
        int batch = inputs.size() / 6;
        for (int from = 0; from < inputs.size(); from += batch) {
            int checkpoints = FailingMap.CHECKPOINTS.get();
            TOPICS.produce(prompts, inputs.subList(from, Math.min(from + batch, inputs.size())));
            Await.until("a checkpoint after batch " + from,
                    () -> FailingMap.CHECKPOINTS.get() > checkpoints || job.getJobStatus().get().isTerminalState());
        }
        job.getJobExecutionResult().get(3, TimeUnit.MINUTES);

        assertThat(FailingMap.FAILED.get()).as("failures injected at records %s", FailingMap.POINTS).isEqualTo(failures);
        assertThat(GlmWorker.openEngines()).as("engines left open by %d failed attempts", failures).isZero();
        return TOPICS.readCommitted(completions);
    }

    private static JobClient start(Configuration glm, String prompts, String completions,
                                   OffsetsInitializer stoppingOffsets) throws Exception {
        Configuration restarts = new Configuration();
        restarts.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        restarts.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, FAILURES + 5);
        restarts.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(100));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(restarts);
        env.setParallelism(PARALLELISM);
        env.enableCheckpointing(200);
        GlmStreams.chat(TOPICS.source(env, prompts, stoppingOffsets)
                        .map(new FailingMap(), TypeInformation.of(ChatInput.class)).uid("failing-map")
                        .keyBy(ChatInput::conversationId), glm)
                .completions()
                .sinkTo(RecordKafkaSink.completions()
                        .setBootstrapServers(KAFKA.bootstrapServers())
                        .setTopic(completions)
                        .setTransactionalIdPrefix(completions)
                        .build()).uid("completions");
        return env.executeAsync("exactly-once chat");
    }

    /**
     * Turns prompts into chat inputs and throws at chosen records. The points count records seen in
     * this JVM across attempts, so each failure happens once and replays pass.
     */
    static final class FailingMap extends RichMapFunction<Sourced<Prompt>, ChatInput> implements CheckpointListener {
        static final AtomicInteger SEEN = new AtomicInteger();
        static final AtomicInteger FAILED = new AtomicInteger();
        static final AtomicInteger CHECKPOINTS = new AtomicInteger();
        static final Set<Integer> POINTS = new TreeSet<>();

        static void arm(Random random, int records, int failures) {
            SEEN.set(0);
            FAILED.set(0);
            CHECKPOINTS.set(0);
            POINTS.clear();
            while (POINTS.size() < failures) {
                POINTS.add(4 + random.nextInt(records - 6));
            }
        }

        @Override
        public ChatInput map(Sourced<Prompt> read) {
            Prompt prompt = read.value();
            int seen = SEEN.incrementAndGet();
            if (POINTS.contains(seen)) {
                FAILED.incrementAndGet();
                throw new IllegalStateException("injected failure at record " + seen + " (" + prompt.requestId() + ")");
            }
            return ChatInput.ofPrompt(read);
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            CHECKPOINTS.incrementAndGet();
        }
    }
}
