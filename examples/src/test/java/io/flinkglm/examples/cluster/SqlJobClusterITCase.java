package io.flinkglm.examples.cluster;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.flinkglm.connectors.formats.WireJson;
import io.flinkglm.examples.SqlJob;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.testkit.CommittedRecords;
import io.flinkglm.testkit.EmbeddedKafkaBroker;
import io.flinkglm.testkit.TinyModel;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code examples/sql/chat.sql} as a user runs it on a cluster: {@code flink run -c io.flinkglm.examples.SqlJob
 * flink-glm-examples.jar --file chat.sql --kafka.bootstrap-servers ... --glm.model.path ...} against a session
 * cluster of separate JVMs. The client plans the script with the job jar's {@code glm} provider and Kafka SQL
 * connector (found through the jar's merged {@code META-INF/services}), and the TaskManager runs them from the
 * job's user-code classloader, with the planner and the JSON format from the cluster's classpath, as a Flink
 * distribution's {@code lib/} has them. What a {@code read_committed} reader sees must equal what the same
 * script commits when {@link SqlJob#main} runs it on a local MiniCluster: every row's seed comes from its values,
 * so the answers do not depend on where they were computed. The same holds when Flink's SQL client runs the script
 * with the jar ({@code sql-client.sh -j flink-glm-examples.jar -f chat.sql}).
 *
 * <p>The script is the file in {@code examples/sql/} with the test's own names ({@code 'glm...'} literals
 * prefixed per run), a 300 ms checkpoint interval (so a bounded job commits soon after its input), a 16 MB KV
 * pool and, for the unbounded case, without its {@code 'scan.bounded.mode'} line.
 */
class SqlJobClusterITCase {
    private static final Path JOB_JAR = Path.of("target", "flink-glm-examples.jar");
    /** The jars {@code bin/sql-client.sh} adds from a distribution's {@code opt/}; the pom copies them here in package. */
    private static final Path SQL_CLIENT_OPT = Path.of("target", "sql-client-opt");
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(60);
    private static final Pattern SCRIPT_NAME = Pattern.compile("'(glm[.-][A-Za-z0-9.-]+)'");
    /** Prompts with text, and one with messages only: its text column is NULL, so it is answered with its error. */
    private static final List<String> PROMPTS = List.of(
            "{\"request_id\": \"p1\", \"conversation_id\": \"c1\", \"text\": \"Hello! Who are you?\"}",
            "{\"request_id\": \"p2\", \"conversation_id\": \"c2\", \"text\": \"Plan one day in Paris.\"}",
            "{\"request_id\": \"p3\", \"conversation_id\": \"c3\", \"text\": \"What is the weather in Beijing?\"}",
            "{\"request_id\": \"m1\", \"conversation_id\": \"c4\","
                    + " \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
    /** What the unbounded job is sent once it runs: the same texts under other ids, and new ones. */
    private static final List<String> MORE_PROMPTS = List.of(
            "{\"request_id\": \"q1\", \"conversation_id\": \"c5\", \"text\": \"Hello! Who are you?\"}",
            "{\"request_id\": \"q2\", \"conversation_id\": \"c6\", \"text\": \"Please book me a table for two.\"}");

    @RegisterExtension
    static final FlinkProcessCluster CLUSTER = new FlinkProcessCluster(1, Map.of());

    private static EmbeddedKafkaBroker kafka;
    private static Path model;
    /** The answers {@code SqlJob.main} commits on a local MiniCluster, by request id. */
    private static Map<String, String> miniCluster;

    @BeforeAll
    static void startBrokerAndRunTheScriptOnAMiniCluster() throws Exception {
        assertThat(JOB_JAR).as("the shaded job jar; mvn verify builds it in package, before the ITCases").exists();
        kafka = EmbeddedKafkaBroker.start();
        model = TinyModel.write(CLUSTER.dir().resolve("model"), DType.F32, 42);

        produce("mini", PROMPTS);
        produce("mini", MORE_PROMPTS);
        // No `flink run` around it: a local environment, where main waits for the job as a run in an IDE does.
        SqlJob.main(args(script("mini", true)).toArray(String[]::new));
        miniCluster = answers("mini");
        assertThat(miniCluster).hasSize(PROMPTS.size() + MORE_PROMPTS.size());
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void attachedRunOfABoundedScriptReturnsWhenTheJobHasFinishedAndCommitsWhatTheMiniClusterCommits()
            throws Exception {
        produce("attached", PROMPTS);

        String job = CLUSTER.runAttached(JOB_JAR, "io.flinkglm.examples.SqlJob", args(script("attached", true)));

        assertThat(CLUSTER.jobState(job)).as("the job when `flink run` returned").isEqualTo("FINISHED");
        Map<String, String> answers = answers("attached");
        assertThat(answers).containsOnlyKeys("p1", "p2", "p3", "m1");
        assertThat(answers).isEqualTo(subMap(miniCluster, answers.keySet()));
        assertThat(answers.get("m1")).as("a row without text").contains("\"response\":null").doesNotContain("\"error\":null");
    }

    /**
     * {@code sql-client.sh -j flink-glm-examples.jar -f chat.sql}: the client's classpath is Flink's jars and the
     * client's own, without the project's classes or the Kafka connector, so both the {@code glm} provider and the
     * {@code kafka} connector must be found in the {@code -j} jar, by the client's planner and by the TaskManager.
     */
    @Test
    void theSqlClientRunsTheScriptWithTheJobJarAndCommitsWhatTheMiniClusterCommits() throws Exception {
        List<Path> clientJars = jars(SQL_CLIENT_OPT);
        List<String> clientClasspath = new ArrayList<>(List.of(ChildJvm.flinkClasspath().split(File.pathSeparator)));
        clientJars.forEach(j -> clientClasspath.add(j.toString()));
        // The cluster's classpath is a part of the client's, so this rules out both (without the -j jar the client
        // fails: "Could not find any factory for identifier 'kafka'").
        assertThat(holding(clientClasspath, "io/flinkglm/", "org/apache/flink/connector/kafka/"))
                .as("entries of the SQL client's classpath with the project's classes or the Kafka connector").isEmpty();
        produce("client", PROMPTS);
        // The client takes no --name value arguments: the placeholders are filled in the file, as a user would.
        Path script = script("client", true);
        Files.writeString(script, Files.readString(script).replace("${kafka.bootstrap-servers}", kafka.bootstrapServers())
                .replace("${glm.model.path}", model.toString()));

        String printed = CLUSTER.sqlClient(clientJars, JOB_JAR, script);

        Matcher job = Pattern.compile("Job ID: ([0-9a-f]{32})").matcher(printed);
        assertThat(job.find()).as("the INSERT's job id in what the client printed:%n%s", printed).isTrue();
        CLUSTER.awaitUntil("the INSERT's job ends", () -> Set.of("FINISHED", "FAILED", "CANCELED")
                .contains(CLUSTER.jobState(job.group(1))));
        assertThat(CLUSTER.jobState(job.group(1))).isEqualTo("FINISHED");
        Map<String, String> answers = answers("client");
        assertThat(answers).containsOnlyKeys("p1", "p2", "p3", "m1");
        assertThat(answers).isEqualTo(subMap(miniCluster, answers.keySet()));
    }

    @Test
    void detachedRunOfAnUnboundedScriptReturnsAtOnceAndTheJobKeepsAnsweringExactlyOnce() throws Exception {
        createTopics("detached");

        // Before the fix SqlJob.main awaited the INSERT's result even when detached, so this never returned.
        String job = CLUSTER.submit(JOB_JAR, "io.flinkglm.examples.SqlJob", args(script("detached", false)));
        CLUSTER.awaitJobState(job, "RUNNING");
        produce("detached", PROMPTS);
        CLUSTER.awaitUntil("the first prompts answered", () -> answers("detached").size() >= PROMPTS.size());
        produce("detached", MORE_PROMPTS);
        CLUSTER.awaitUntil("the later prompts answered",
                () -> answers("detached").size() >= PROMPTS.size() + MORE_PROMPTS.size());
        assertThat(CLUSTER.jobState(job)).isEqualTo("RUNNING");
        CLUSTER.cancel(job);

        assertThat(answers("detached")).as("each answered once, as on the MiniCluster").isEqualTo(miniCluster);
    }

    /**
     * {@code examples/sql/chat.sql} made the run's own, written to the cluster's directory; {@code bounded} keeps its
     * {@code 'scan.bounded.mode'} line. The {@code ${...}} placeholders stay for SqlJob to fill.
     */
    private static Path script(String run, boolean bounded) throws Exception {
        String text = Files.readString(Path.of("sql", "chat.sql"));
        text = SCRIPT_NAME.matcher(text).replaceAll(m -> Matcher.quoteReplacement("'" + run + "." + m.group(1) + "'"));
        text = edit(text, "SET 'execution.checkpointing.interval' = '5s';",
                "SET 'execution.checkpointing.interval' = '300ms';");
        // One engine per job on a 480 MB TaskManager heap: 16 MB of KV rather than the default 256 MB.
        text = edit(text, "'provider' = 'glm',", "'provider' = 'glm', 'kv-cache-bytes' = '16mb',");
        if (!bounded) {
            text = edit(text, "  'scan.bounded.mode' = 'latest-offset',      -- drop this line to keep answering new prompts\n", "");
        }
        Path file = CLUSTER.dir().resolve(run + ".sql");
        Files.writeString(file, text);
        return file;
    }

    private static String edit(String text, String from, String to) {
        assertThat(text).as("chat.sql").contains(from);
        return text.replace(from, to);
    }

    private static List<String> args(Path script) {
        return List.of("--file", script.toAbsolutePath().toString(), "--kafka.bootstrap-servers",
                kafka.bootstrapServers(), "--glm.model.path", model.toString());
    }

    private static void createTopics(String run) throws Exception {
        if (!kafka.admin().listTopics().names().get().contains(run + ".glm.prompts")) {
            kafka.createTopic(run + ".glm.prompts", 1);
            kafka.createTopic(run + ".glm.sql.answers", 1);
        }
    }

    private static void produce(String run, List<String> lines) throws Exception {
        createTopics(run);
        try (var producer = new KafkaProducer<byte[], byte[]>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class))) {
            for (String line : lines) {
                producer.send(new ProducerRecord<>(run + ".glm.prompts", line.getBytes(UTF_8))).get();
            }
        }
    }

    /** The committed answers, each record's JSON by request id; a repeated id keeps both, so a duplicate fails equality. */
    private static Map<String, String> answers(String run) throws Exception {
        List<JsonNode> records = CommittedRecords.read(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers()), run + ".glm.sql.answers", WireJson.MAPPER::readTree, READ_TIMEOUT);
        Map<String, String> byId = new TreeMap<>();
        for (JsonNode r : records) {
            byId.merge(r.get("request_id").asText(), r.toString(), (a, b) -> a + "|DUPLICATE|" + b);
        }
        return byId;
    }

    private static List<Path> jars(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            List<Path> jars = files.filter(f -> f.toString().endsWith(".jar")).sorted().toList();
            assertThat(jars).as("the SQL client's jars in " + dir + "; mvn verify copies them in package").hasSize(4);
            return jars;
        }
    }

    /** The classpath entries (folders or jars) that hold an entry under one of {@code prefixes}. */
    private static List<String> holding(List<String> classpath, String... prefixes) throws IOException {
        List<String> found = new ArrayList<>();
        for (String entry : classpath) {
            Path path = Path.of(entry);
            if (Files.isDirectory(path)) {
                if (Stream.of(prefixes).anyMatch(p -> Files.exists(path.resolve(p)))) {
                    found.add(entry);
                }
            } else if (Files.isRegularFile(path)) {
                try (ZipFile zip = new ZipFile(path.toFile())) {
                    if (zip.stream().anyMatch(e -> Stream.of(prefixes).anyMatch(e.getName()::startsWith))) {
                        found.add(entry);
                    }
                }
            }
        }
        return found;
    }

    private static Map<String, String> subMap(Map<String, String> all, java.util.Set<String> keys) {
        Map<String, String> out = new TreeMap<>(all);
        out.keySet().retainAll(keys);
        return out;
    }
}
