package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.connectors.kafka.RecordKafkaSink;
import io.flinkglm.records.Completion;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Sourced;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.testkit.Await;
import io.flinkglm.testkit.CollectingSink;
import io.flinkglm.testkit.KafkaMiniClusterExtension;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Stop with a savepoint at parallelism 2, restore at 3, stop again, restore at 1: every conversation
 * keeps its history across both rescales, so each turn after a restore answers exactly as an
 * uninterrupted run; with {@code glm.state.kv-persistence} the restored turn prefills only its new
 * tokens, the history's KV coming from state.
 */
class RescaleITCase {
    private static final int CONVERSATIONS = 8;
    private static final int[] PARALLELISM = {2, 3, 1};

    @RegisterExtension
    static final KafkaMiniClusterExtension KAFKA = KafkaMiniClusterExtension.withSlots(3).withTinyModel(DType.BF16, 17);
    private static final ChatTopics TOPICS = new ChatTopics(KAFKA);

    /** With KV in state the job runs on RocksDB with incremental checkpoints, as a production job keeps large state. */
    @ParameterizedTest(name = "kv-persistence {0}")
    @ValueSource(booleans = {true, false})
    void conversationsSurviveRescalingFromTwoToThreeToOne(boolean kvPersistence, @TempDir Path savepoints) throws Exception {
        GlmOptions.KvPersistence persistence = kvPersistence ? GlmOptions.KvPersistence.ALWAYS : GlmOptions.KvPersistence.NEVER;
        String name = "rescale-" + kvPersistence;
        String topic = KAFKA.topic("prompts");
        Configuration glm = TinyGlm.config(KAFKA.model());
        Configuration config = new Configuration(glm);
        config.set(GlmOptions.KV_PERSISTENCE, persistence);
        List<ChatInput> inputs = TinyGlm.conversations(name, CONVERSATIONS, PARALLELISM.length);
        Map<String, ReferenceChat.Answer> uninterrupted;
        try (ReferenceChat reference = new ReferenceChat(glm)) {
            uninterrupted = reference.answer(inputs);
        }
        CollectingSink<Completion> sink = new CollectingSink<>();

        String savepoint = null;
        for (int turn = 0; turn < PARALLELISM.length; turn++) {
            List<ChatInput> turnInputs = TinyGlm.turn(name, CONVERSATIONS, turn);
            TOPICS.produce(topic, turnInputs);
            JobClient job = start(config, topic, sink, PARALLELISM[turn], savepoint, kvPersistence);
            int answered = (turn + 1) * CONVERSATIONS;
            Await.until(answered + " answers", () -> sink.count() >= answered);
            savepoint = stopWithSavepoint(job, savepoints);
            JobExecutionResult result = job.getJobExecutionResult().get(1, TimeUnit.MINUTES);
            assertThat(GlmWorker.openEngines()).as("engines left open after the stop").isZero();

            List<Completion> received = sink.received();
            assertThat(GlmChatOperatorITCase.answers(received.subList(turn * CONVERSATIONS, received.size())))
                    .as("turn %d at parallelism %d", turn, PARALLELISM[turn])
                    .isEqualTo(GlmChatOperatorITCase.expected(uninterrupted, turnInputs));
            long computed = (Long) result.getAccumulatorResult(GlmChatOperator.PROMPT_TOKENS_COMPUTED);
            long cached = (Long) result.getAccumulatorResult(GlmChatOperator.PROMPT_TOKENS_CACHED);
            long kvBytes = (Long) result.getAccumulatorResult(GlmChatOperator.MAX_KV_STATE_BYTES);
            System.out.printf("kv-persistence %s, turn %d at parallelism %d: prompt tokens computed %d, cached %d;"
                            + " largest KV in state %d bytes; savepoint %d bytes%n", kvPersistence, turn,
                    PARALLELISM[turn], computed, cached, kvBytes, size(savepoint));
            if (turn > 0) {
                // What the history alone costs to prefill again: all of it but the one token whose KV the
                // previous turn never computed (its last, sampled token).
                long history = turnInputs.stream().mapToLong(in -> uninterrupted.get(in.id()).historyTokens() - 1).sum();
                long prompts = turnInputs.stream().mapToLong(in -> uninterrupted.get(in.id()).promptTokens()).sum();
                if (kvPersistence) {
                    assertThat(cached).as("prompt tokens taken from the restored KV").isEqualTo(history);
                    assertThat(computed).as("prompt tokens prefilled").isEqualTo(prompts - history);
                } else {
                    assertThat(computed).as("prompt tokens prefilled without KV in state")
                            .isGreaterThan(prompts - history);
                }
            }
        }
    }

    @Test
    void turnsPendingAtTheSavepointAreAnsweredOnceAfterRescalingFromTwoToThree(@TempDir Path savepoints)
            throws Exception {
        String prompts = KAFKA.topic("prompts");
        String completions = KAFKA.topic("completions");
        Configuration config = TinyGlm.config(KAFKA.model());
        config.set(GlmOptions.SHARED_ENGINE, true);
        List<ChatInput> inputs = TinyGlm.conversations("pending", CONVERSATIONS, 3);
        Map<String, ReferenceChat.Reply> expected = GlmChatOperatorITCase.expected(config, inputs);
        TOPICS.produce(prompts, inputs);
        Counting.reset();

        try (EngineGate gate = EngineGate.shut(config)) {
            // The engine is held: every first turn is in flight and every later one queued behind it.
            JobClient first = startTransactional(config, prompts, completions, 2, null);
            Await.until("every prompt read and every first turn submitted",
                    () -> Counting.READ.get() == inputs.size() && gate.waitingTurns() == CONVERSATIONS);
            String savepoint = stopWithSavepoint(first, savepoints);
            first.getJobExecutionResult().get(1, TimeUnit.MINUTES);
            assertThat(Counting.ANSWERED.get()).as("turns answered before the savepoint").isZero();
            gate.open();
            Counting.reset();
            // The restored job's source is unbounded too (a Kafka split keeps the stopping offset it was
            // restored with): it runs until every turn is committed, then stops, committing its last output.
            JobClient second = startTransactional(config, prompts, completions, 3, savepoint);
            Await.until("every turn committed", () -> TOPICS.readCommitted(completions).size() >= inputs.size());
            stopWithSavepoint(second, savepoints);
            second.getJobExecutionResult().get(1, TimeUnit.MINUTES);
        }

        assertThat(Counting.READ.get()).as("prompts the restored job read from the topic").isZero();
        assertThat(GlmChatOperatorITCase.answers(TOPICS.readCommitted(completions))).isEqualTo(expected);
        assertThat(GlmWorker.openEngines()).isZero();
    }

    /** Prompts read and turns answered by the running job, to time the savepoint and check the restore. */
    static final class Counting {
        static final AtomicInteger READ = new AtomicInteger();
        static final AtomicInteger ANSWERED = new AtomicInteger();

        static void reset() {
            READ.set(0);
            ANSWERED.set(0);
        }

        static ChatInput read(Sourced<Prompt> prompt) {
            READ.incrementAndGet();
            return ChatInput.ofPrompt(prompt);
        }

        static Completion answered(Completion completion) {
            ANSWERED.incrementAndGet();
            return completion;
        }
    }

    /**
     * Stops a job with a savepoint, triggering again while some task is still starting (a savepoint
     * needs every task running, and the sink's may not be yet when the job's first records are in).
     */
    private static String stopWithSavepoint(JobClient job, Path savepoints) throws Exception {
        return Await.value("a savepoint of job " + job.getJobID(), () -> {
            try {
                return Optional.of(job.stopWithSavepoint(false, savepoints.toUri().toString(),
                        SavepointFormatType.CANONICAL).get(2, TimeUnit.MINUTES));
            } catch (ExecutionException e) {
                if (String.valueOf(e.getMessage()).contains("Not all required tasks")) {
                    return Optional.empty(); // a task is still starting: the next trigger may find them all running
                }
                throw e;
            }
        });
    }

    private static JobClient startTransactional(Configuration config, String prompts, String completions,
                                                int parallelism, String savepoint) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(parallelism);
        env.enableCheckpointing(500);
        GlmStreams.chat(TOPICS.source(env, prompts, null)
                        .map(Counting::read, TypeInformation.of(ChatInput.class)).uid("chat-inputs")
                        .keyBy(ChatInput::conversationId), config)
                .completions()
                .map(Counting::answered, TypeInformation.of(Completion.class)).uid("answered")
                .sinkTo(RecordKafkaSink.completions()
                        .setBootstrapServers(KAFKA.bootstrapServers())
                        .setTopic(completions)
                        .setTransactionalIdPrefix(completions)
                        .build()).uid("completions");
        StreamGraph graph = env.getStreamGraph();
        if (savepoint != null) {
            graph.setSavepointRestoreSettings(SavepointRestoreSettings.forPath(savepoint, false));
        }
        return env.executeAsync(graph);
    }

    private static JobClient start(Configuration config, String topic, CollectingSink<Completion> sink, int parallelism,
                                   String savepoint, boolean onRocksDb) throws Exception {
        Configuration backend = new Configuration();
        if (onRocksDb) {
            backend.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
            backend.set(CheckpointingOptions.INCREMENTAL_CHECKPOINTS, true);
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(backend);
        if (onRocksDb) {
            env.enableCheckpointing(300); // incremental checkpoints between the savepoints
        }
        env.setParallelism(parallelism);
        GlmStreams.chat(TOPICS.source(env, topic, null)
                        .map(ChatInput::ofPrompt, TypeInformation.of(ChatInput.class)).uid("chat-inputs")
                        .keyBy(ChatInput::conversationId), config)
                .completions().sinkTo(sink).uid("completions");
        StreamGraph graph = env.getStreamGraph();
        if (savepoint != null) {
            graph.setSavepointRestoreSettings(SavepointRestoreSettings.forPath(savepoint, false));
        }
        return env.executeAsync(graph);
    }

    private static long size(String savepoint) throws IOException {
        try (Stream<Path> files = Files.walk(Path.of(URI.create(savepoint)))) {
            return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }
}
