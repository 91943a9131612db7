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
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Exactly-once across process deaths: {@code ChatWithToolsJob} from the shaded jar, submitted with
 * {@code flink run} at parallelism 2 to a session cluster of separate JVMs (one JobManager, two
 * one-slot TaskManagers), answers multi-turn conversations sampled at temperature 0.8 while
 * TaskManagers are killed with SIGKILL and replaced. A {@code read_committed} reader must see every
 * turn answered exactly once, each text equal to the same job's answer on the same cluster without
 * failures (sampling seeds come from request ids, and a turn's history holds the earlier answers, so
 * one lost, repeated or reordered turn changes texts).
 *
 * <p>The broker runs in this JVM (an {@link EmbeddedKafkaBroker}): a child JVM would add its start-up
 * to a test that is already minutes long, and the broker is not what is killed here.
 */
class ClusterChaosITCase {
    private static final Path JOB_JAR = Path.of("target", "flink-glm-examples.jar");
    private static final int CONVERSATIONS = 25;
    private static final int TURNS = 4;
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(60);

    @RegisterExtension
    static final FlinkProcessCluster CLUSTER = new FlinkProcessCluster(2, Map.of(
            // Fast, plentiful restarts: the JobManager redeploys to a killed TaskManager until its
            // heartbeat times out, and then waits for the replacement's slot.
            "restart-strategy.type", "fixed-delay",
            "restart-strategy.fixed-delay.attempts", "1000",
            "restart-strategy.fixed-delay.delay", "500 ms"));

    private static EmbeddedKafkaBroker kafka;
    private static Path model;
    private static Map<String, String> reference;

    @BeforeAll
    static void startBrokerAndRunTheFailureFreeReference() throws Exception {
        assertThat(JOB_JAR).as("the shaded job jar; mvn verify builds it in package, before the ITCases").exists();
        kafka = EmbeddedKafkaBroker.start();
        model = CLUSTER.dir().resolve("model");
        // The demo's random tiny GLM-4: fast on two shared cores, and its sampled texts still differ per turn.
        ModelConfig tiny = RandomCheckpoint.preset("tiny", DType.F32);
        RandomCheckpoint.write(model, tiny, DType.F32, 1, 42, (done, total) -> { });
        SyntheticTokenizer.write(model, tiny.vocabSize());

        List<String> args = jobArgs("reference", true);
        produce("reference", prompts(), Duration.ZERO);
        String job = CLUSTER.submit(JOB_JAR, "io.flinkglm.examples.ChatWithToolsJob", args);
        CLUSTER.awaitJobState(job, "FINISHED");
        reference = texts(answers("reference"));
        assertThat(reference).hasSize(CONVERSATIONS * TURNS);
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void oneTaskManagerKilledMidRunAndReplacedLosesAndRepeatsNoTurn() throws Exception {
        runWithKills("one-kill", List.of(0));
        // The surviving TaskManager's task restarted in the job's classloader: it took back the model its
        // predecessor had loaded (GlmWorker's idle model) instead of reading the checkpoint again.
        assertThat(Files.readString(CLUSTER.taskManagerLog(1)))
                .contains("ready in").contains("(kept in this JVM since its last task closed)");
    }

    @Test
    void bothTaskManagersKilledInTurnLoseAndRepeatNoTurn() throws Exception {
        runWithKills("two-kills", List.of(0, 1));
    }

    /**
     * Feeds the prompts over time to an unbounded job and kills and replaces the TaskManagers named by
     * {@code kills}, one after another, each once a further share of the answers is committed.
     */
    private static void runWithKills(String prefix, List<Integer> kills) throws Exception {
        createTopics(prefix); // before the job starts: a missing topic would fail it, a failure no kill caused
        String job = CLUSTER.submit(JOB_JAR, "io.flinkglm.examples.ChatWithToolsJob", jobArgs(prefix, false));
        CLUSTER.awaitJobState(job, "RUNNING");
        Thread feeder = new Thread(() -> {
            try {
                produce(prefix, prompts(), Duration.ofMillis(60));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, "prompt-feeder");
        feeder.start();

        int total = CONVERSATIONS * TURNS;
        for (int k = 0; k < kills.size(); k++) {
            int committedBeforeKill = total * (k + 1) / (kills.size() + 2);
            CLUSTER.awaitUntil(committedBeforeKill + " answers committed", () -> answers(prefix).size() >= committedBeforeKill);
            int failuresBefore = CLUSTER.failures(job);
            CLUSTER.killTaskManager(kills.get(k));
            CLUSTER.replaceTaskManager(kills.get(k));
            CLUSTER.awaitUntil("the job fails over after the kill", () -> CLUSTER.failures(job) > failuresBefore);
        }
        feeder.join(Duration.ofMinutes(1).toMillis());
        CLUSTER.awaitUntil("every turn answered", () -> answers(prefix).size() >= total);
        CLUSTER.cancel(job);

        List<Completion> answers = answers(prefix);
        assertThat(answers).extracting(Completion::requestId).doesNotHaveDuplicates().hasSize(total);
        Map<String, String> texts = texts(answers);
        assertThat(texts).isEqualTo(reference);
        assertThat(CLUSTER.failures(job)).as("failures the job went through").isGreaterThanOrEqualTo(kills.size());
    }

    private static List<String> jobArgs(String prefix, boolean bounded) {
        List<String> args = new ArrayList<>(List.of(
                "--glm.model.path", model.toString(),
                "--glm.backend", "cpu",
                "--glm.cpu.threads", "1",
                "--glm.generation.temperature", "0.8",
                "--glm.generation.max-tokens", "6",
                "--glm.job.parallelism", "2",
                "--glm.job.checkpoint-interval", "500ms",
                "--glm.job.bounded", String.valueOf(bounded),
                "--glm.kafka.bootstrap-servers", kafka.bootstrapServers(),
                "--glm.kafka.group-id", prefix,
                "--glm.kafka.transactional-id-prefix", prefix));
        for (String topic : List.of("prompts", "tool-results", "completions", "function-calls", "safety-verdicts",
                "dead-letters")) {
            args.add("--glm.kafka.topic." + topic);
            args.add(prefix + "." + topic);
        }
        return args;
    }

    /** Turn t of every conversation before turn t + 1 of any: each conversation has turns queued behind the one in flight. */
    private static List<Prompt> prompts() {
        List<Prompt> prompts = new ArrayList<>();
        for (int t = 1; t <= TURNS; t++) {
            for (int c = 0; c < CONVERSATIONS; c++) {
                prompts.add(new Prompt("conv-" + c + "-turn-" + t, "conv-" + c, "t", null,
                        List.of(new ChatMessage("user", "Question " + t + " of conversation " + c + ".", null)),
                        null, null, null, Task.CHAT));
            }
        }
        return prompts;
    }

    /** Creates the prefix's topics on first use and sends {@code prompts}, {@code pause} apart (pacing, not synchronisation). */
    private static void produce(String prefix, List<Prompt> prompts, Duration pause) throws Exception {
        String topic = prefix + ".prompts";
        createTopics(prefix);
        RecordSerde<Prompt> serde = RecordSerde.create(Prompt.class, RecordFormat.JSON, null, topic);
        try (var producer = new KafkaProducer<byte[], byte[]>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class))) {
            for (Prompt p : prompts) {
                producer.send(new ProducerRecord<>(topic, p.kafkaKey().getBytes(UTF_8), serde.encode(p))).get();
                if (!pause.isZero()) {
                    Thread.sleep(pause.toMillis());
                }
            }
        }
    }

    private static void createTopics(String prefix) throws Exception {
        if (!kafka.admin().listTopics().names().get().contains(prefix + ".prompts")) {
            for (String t : List.of("prompts", "tool-results", "completions", "function-calls", "safety-verdicts",
                    "dead-letters")) {
                kafka.createTopic(prefix + "." + t, 2);
            }
        }
    }

    private static List<Completion> answers(String prefix) throws Exception {
        RecordSerde<Completion> serde = RecordSerde.create(Completion.class, RecordFormat.JSON, null, prefix + ".completions");
        return CommittedRecords.read(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()),
                prefix + ".completions", serde::decode, READ_TIMEOUT);
    }

    private static Map<String, String> texts(List<Completion> answers) {
        return answers.stream().collect(Collectors.toMap(Completion::requestId, Completion::text, (a, b) -> a + "|DUPLICATE|" + b,
                TreeMap::new));
    }
}
