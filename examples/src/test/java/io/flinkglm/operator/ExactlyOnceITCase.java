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
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
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
        String prompts = KAFKA.topic("prompts");
        String completions = KAFKA.topic("completions");
        List<ChatInput> inputs = TinyGlm.conversations("eo", CONVERSATIONS, TURNS);
        Map<TopicPartition, Long> ends = new HashMap<>();
        inputs.forEach(in -> ends.merge(ChatTopics.partitionOf(prompts, in), 1L, Long::sum));
        FailingMap.arm(new Random(SEED), inputs.size());

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

        assertThat(FailingMap.FAILED.get()).as("failures injected at records %s", FailingMap.POINTS).isEqualTo(FAILURES);
        assertThat(GlmWorker.openEngines()).as("engines left open by %d failed attempts", FAILURES).isZero();
        List<Completion> committed = TOPICS.readCommitted(completions);
        assertThat(GlmChatOperatorITCase.answers(committed)).isEqualTo(GlmChatOperatorITCase.expected(glm, inputs));
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

        static void arm(Random random, int records) {
            SEEN.set(0);
            FAILED.set(0);
            CHECKPOINTS.set(0);
            POINTS.clear();
            while (POINTS.size() < FAILURES) {
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
