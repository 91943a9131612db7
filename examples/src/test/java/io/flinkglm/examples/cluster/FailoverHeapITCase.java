package io.flinkglm.examples.cluster;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.RecordSerde;
import io.flinkglm.records.ChatMessage;
import io.flinkglm.records.Completion;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Task;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.ModelConfig;
import io.flinkglm.runtime.model.RandomCheckpoint;
import io.flinkglm.runtime.tokenizer.SyntheticTokenizer;
import io.flinkglm.testkit.CommittedRecords;
import io.flinkglm.testkit.EmbeddedKafkaBroker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A TaskManager whose heap fits two copies of the model, and no more, goes through ten failovers of one job
 * without dying: {@code BulkInferenceJob} from the shaded jar fails ten times
 * ({@code glm.job.fail-every}, {@code glm.job.failing-attempts}: the task writing the answers fails at every
 * attempt's third one), and every failure closes and reopens the GLM operator, which releases the model it was
 * serving and takes it again. The TaskManager must be the same process at the end
 * (not restarted, no {@code OutOfMemoryError} in its log), the job must finish, and a {@code read_committed}
 * reader must see every prompt answered once. A restart that loaded a copy while an earlier one was still
 * reachable, or a copy pinned per failover (a thread, a cache, a listener of the old task), fills the heap
 * within the ten: with each released model pinned, the TaskManager stalled in garbage collection at the third
 * copy, after the second failover, and the test failed on its deadline.
 *
 * <p>The rule the heap follows: Flink's own and the job's heap (Kafka clients, state, the operator's queues),
 * plus the KV pool ({@code glm.engine.kv-cache-bytes}), plus two copies of the weights.
 */
class FailoverHeapITCase {
    private static final Path JOB_JAR = Path.of("target", "flink-glm-examples.jar");
    private static final int FAILOVERS = 10;
    private static final int PROMPTS = 24;
    /**
     * A GLM-4 of 12.1 million f32 parameters, 48 MB: large enough that a third copy does not fit the slack,
     * small enough to write, load and run in seconds on two shared cores.
     */
    private static final ModelConfig MODEL = new ModelConfig(ModelConfig.Layout.HF, 256, 4, 4, 2, 64, 1024, 16384,
            4096, 10000.0, 0.5, 1.5625e-07, List.of(), "float32");
    private static final long MODEL_MB = RandomCheckpoint.tensorShapes(MODEL).values().stream()
            .mapToLong(shape -> Arrays.stream(shape).reduce(1, (a, b) -> a * b)).sum() * Float.BYTES >> 20;
    private static final long KV_POOL_MB = 16;
    /**
     * The TaskManager's heap without the model and the KV pool: measured here at 57 MB live after a full GC in
     * the middle of the run (Flink's framework, the Kafka source, four transactional sinks, 120 MB with one
     * copy of the model and the pool), plus room for what is allocated between collections. With it the heap
     * (206 MB) holds two copies and not three (about 214 MB live).
     */
    private static final long FLINK_AND_JOB_MB = 96;
    private static final long HEAP_MB = FLINK_AND_JOB_MB + KV_POOL_MB + 2 * MODEL_MB;

    @RegisterExtension
    static final FlinkProcessCluster CLUSTER = new FlinkProcessCluster(1, Map.of(
            "restart-strategy.type", "fixed-delay",
            "restart-strategy.fixed-delay.attempts", String.valueOf(2 * FAILOVERS),
            "restart-strategy.fixed-delay.delay", "100 ms")).withTaskManagerHeap(HEAP_MB);

    private static EmbeddedKafkaBroker kafka;
    private static Path model;

    @BeforeAll
    static void startBrokerAndWriteTheModel() throws Exception {
        assertThat(JOB_JAR).as("the shaded job jar; mvn verify builds it in package, before the ITCases").exists();
        kafka = EmbeddedKafkaBroker.start();
        model = CLUSTER.dir().resolve("model");
        RandomCheckpoint.write(model, MODEL, DType.F32, 1, 42, (done, total) -> { });
        SyntheticTokenizer.write(model, MODEL.vocabSize());
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void aTaskManagerWithHeapForTwoModelCopiesAnswersEveryPromptOnceThroughTenFailovers() throws Exception {
        long pid = CLUSTER.taskManager(0).process.pid();
        produce();

        String job = CLUSTER.submit(JOB_JAR, "io.flinkglm.examples.BulkInferenceJob", jobArgs());
        CLUSTER.awaitUntil("half the failovers", () -> CLUSTER.failures(job) >= FAILOVERS / 2);
        long liveMidRun = CLUSTER.taskManager(0).liveHeapBytes(); // a figure for the docs, not asserted
        CLUSTER.awaitUntil("the job finished after its failovers", () -> {
            String state = CLUSTER.jobState(job);
            assertThat(state).as("job state").isNotIn("FAILED", "CANCELED");
            return state.equals("FINISHED");
        });

        assertThat(CLUSTER.failures(job)).as("failovers").isEqualTo(FAILOVERS);
        assertThat(CLUSTER.taskManager(0).isAlive()).as("the TaskManager process").isTrue();
        assertThat(CLUSTER.taskManager(0).process.pid()).isEqualTo(pid);
        assertThat(CLUSTER.registeredTaskManagers()).containsExactly(CLUSTER.taskManagerId(0));
        String log = Files.readString(CLUSTER.taskManagerLog(0)) + Files.readString(CLUSTER.taskManager(0).log);
        assertThat(log).doesNotContain("OutOfMemoryError");
        List<String> answered = answers().stream().map(Completion::requestId).toList();
        assertThat(answered).doesNotHaveDuplicates().hasSize(PROMPTS);
        // Every attempt took the model (GlmWorker logs "model ... ready in"): ten releases, eleven takes.
        List<String> ready = log.lines().filter(l -> l.contains("GlmWorker") && l.contains(" ready in ")).toList();
        System.out.printf("heap %d MB (model %d MB); live heap after a full GC mid-run: %d MB; the TaskManager's"
                + " model loads:%n  %s%n", HEAP_MB, MODEL_MB, liveMidRun >> 20, String.join("\n  ", ready));
        assertThat(ready).hasSize(FAILOVERS + 1);
    }

    private static List<String> jobArgs() {
        List<String> args = new ArrayList<>(List.of(
                "--glm.model.path", model.toString(),
                "--glm.backend", "cpu",
                "--glm.cpu.threads", "1",
                "--glm.engine.kv-cache-bytes", String.valueOf(KV_POOL_MB << 20),
                "--glm.generation.max-tokens", "4",
                // Two prompts in the engine at a time, so answers come out one by one rather than all 40 together
                // after one long batch: each attempt reaches its third answer within seconds.
                "--glm.capacity", "2",
                "--glm.job.parallelism", "1",
                "--glm.job.checkpoint-interval", "300ms",
                "--glm.job.bounded", "true",
                // At each attempt's third answer: the model has been taken and is serving when the task fails,
                // and at most two answers an attempt get committed, so the prompts outlast the ten failures.
                "--glm.job.fail-every", "3",
                "--glm.job.failing-attempts", String.valueOf(FAILOVERS),
                "--glm.kafka.bootstrap-servers", kafka.bootstrapServers(),
                "--glm.kafka.group-id", "heap",
                "--glm.kafka.transactional-id-prefix", "heap"));
        for (String topic : List.of("prompts", "completions", "function-calls", "safety-verdicts", "dead-letters")) {
            args.add("--glm.kafka.topic." + topic);
            args.add("heap." + topic);
        }
        return args;
    }

    private static void produce() throws Exception {
        for (String t : List.of("prompts", "completions", "function-calls", "safety-verdicts", "dead-letters")) {
            kafka.createTopic("heap." + t, 1);
        }
        RecordSerde<Prompt> serde = RecordSerde.create(Prompt.class, RecordFormat.JSON, null, "heap.prompts");
        try (var producer = new KafkaProducer<byte[], byte[]>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class))) {
            for (int i = 0; i < PROMPTS; i++) {
                Prompt p = new Prompt("prompt-" + i, "conv-" + i, "t", null,
                        List.of(new ChatMessage("user", "Q" + i, null)), null, null, null, Task.CHAT);
                producer.send(new ProducerRecord<>("heap.prompts", p.kafkaKey().getBytes(UTF_8), serde.encode(p))).get();
            }
        }
    }

    private static List<Completion> answers() throws Exception {
        RecordSerde<Completion> serde = RecordSerde.create(Completion.class, RecordFormat.JSON, null, "heap.completions");
        return CommittedRecords.read(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                "heap.completions", serde::decode, Duration.ofSeconds(60));
    }
}
