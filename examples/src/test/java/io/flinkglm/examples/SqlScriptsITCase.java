package io.flinkglm.examples;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.flinkglm.connectors.formats.WireJson;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.testkit.KafkaMiniClusterExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.table.functions.ScalarFunction;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The scripts of {@code examples/sql/} as {@link SqlJob} runs them, unchanged but for their names: Flink's Kafka
 * SQL connector and JSON format on the test kit's broker, the {@code glm} provider on the tiny model, two slots
 * (two source, model and sink subtasks). Each script is bounded by its own {@code 'scan.bounded.mode' =
 * 'latest-offset'}, so a job answers what was on the prompts topic when it started and finishes; its results
 * are read with {@code read_committed}, so only what the exactly-once sinks committed counts.
 */
class SqlScriptsITCase {

    @RegisterExtension
    static final KafkaMiniClusterExtension KAFKA =
            KafkaMiniClusterExtension.withSlots(2).withTinyModel(DType.F32, LocalDemo.DEMO_MODEL_SEED);

    /** Prompts with text, one without (a messages-only prompt: its text column is NULL), one malformed line. */
    private static final List<String> PROMPT_LINES = List.of(
            "{\"request_id\": \"p1\", \"conversation_id\": \"c1\", \"text\": \"Hello! Who are you?\"}",
            "{\"request_id\": \"p2\", \"conversation_id\": \"c2\", \"text\": \"Plan one day in Paris.\"}",
            "{\"request_id\": \"p3\", \"conversation_id\": \"c3\", \"text\": \"What is the weather in Beijing?\"}",
            "{\"request_id\": \"p4\", \"conversation_id\": \"c4\", \"text\": \"Please book me a table for two.\"}",
            "{\"request_id\": \"p5\", \"conversation_id\": \"c5\", \"text\": \"The quick brown fox\"}",
            "{\"request_id\": \"p6\", \"conversation_id\": \"c6\", \"text\": \"My order never arrived!\"}",
            "{\"request_id\": \"m1\", \"conversation_id\": \"c7\","
                    + " \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}",
            "{\"request_id\": \"cut\", \"text\": \"this line is cut off");
    /** The prompts with text; {@code m1} is answered too, with NULL outputs and an error. */
    private static final List<String> WITH_TEXT = List.of("p1", "p2", "p3", "p4", "p5", "p6");
    /** Every row the JSON format reads; the malformed line is dropped by the scripts' {@code json.ignore-parse-errors}. */
    private static final List<String> ROWS = List.of("p1", "p2", "p3", "p4", "p5", "p6", "m1");
    /** A checkpoint, and with it a Kafka commit, often enough that a bounded job finishes soon after its input. */
    private static final String CHECKPOINT_INTERVAL = "300ms";

    /** Names in the scripts' string literals that a test makes its own: topics, consumer groups, transactional ids. */
    private static final Pattern SCRIPT_NAME = Pattern.compile("'(glm[.-][A-Za-z0-9.-]+)'");

    @Test
    void chatAnswersEveryPromptOnceAndARowWithoutTextWithItsError() throws Exception {
        List<JsonNode> answers = run("chat.sql", "clean", Map.of(), "glm.sql.answers");

        assertThat(answers).extracting(a -> a.get("request_id").asText()).containsExactlyInAnyOrderElementsOf(ROWS);
        for (JsonNode answer : answers) {
            if (WITH_TEXT.contains(answer.get("request_id").asText())) {
                assertThat(answer.get("response").asText()).as("%s", answer).isNotBlank();
                // The script caps answers at 24 tokens; sampling at 0.8, the random model sometimes ends one sooner.
                assertThat(answer.get("finish_reason").asText()).isIn("length", "stop");
                assertThat(answer.get("completion_tokens").asInt()).isBetween(1, 24);
                assertThat(answer.get("error").isNull()).as("%s", answer).isTrue();
            } else {
                assertThat(answer.get("response").isNull()).as("%s", answer).isTrue();
                assertThat(answer.get("error").asText()).as("%s", answer).isNotBlank();
            }
        }
    }

    @Test
    void moderationGivesEveryPromptOneVerdict() throws Exception {
        List<JsonNode> verdicts = run("moderation.sql", "clean", Map.of(), "glm.sql.verdicts");

        assertThat(verdicts).extracting(v -> v.get("request_id").asText()).containsExactlyInAnyOrderElementsOf(ROWS);
        for (JsonNode verdict : verdicts) {
            if (WITH_TEXT.contains(verdict.get("request_id").asText())) {
                assertThat(verdict.get("flagged").isBoolean()).as("%s", verdict).isTrue();
                assertThat(verdict.get("scores").size()).as("%s", verdict).isPositive();
                assertThat(verdict.get("categories").isArray()).as("%s", verdict).isTrue();
                assertThat(verdict.get("error").isNull()).as("%s", verdict).isTrue();
            } else {
                assertThat(verdict.get("flagged").isNull()).as("%s", verdict).isTrue();
                assertThat(verdict.get("error").asText()).as("%s", verdict).isNotBlank();
            }
        }
    }

    @Test
    void classifyGivesEveryPromptOneOfTheLabels() throws Exception {
        List<JsonNode> labels = run("classify.sql", "clean", Map.of(), "glm.sql.labels");

        assertThat(labels).extracting(l -> l.get("request_id").asText()).containsExactlyInAnyOrderElementsOf(ROWS);
        for (JsonNode label : labels) {
            if (WITH_TEXT.contains(label.get("request_id").asText())) {
                assertThat(label.get("label").asText()).as("%s", label)
                        .isIn("question", "request", "greeting", "complaint");
                assertThat(label.get("score").asDouble()).as("%s", label).isBetween(0.0, 1.0);
                assertThat(label.get("error").isNull()).as("%s", label).isTrue();
            } else {
                assertThat(label.get("label").isNull()).as("%s", label).isTrue();
                assertThat(label.get("error").asText()).as("%s", label).isNotBlank();
            }
        }
    }

    @Test
    void chatWithInjectedTaskFailuresCommitsWhatARunWithoutFailuresCommitsEachOnce() throws Exception {
        List<JsonNode> clean = run("chat.sql", "clean", Map.of(), "glm.sql.answers");
        InjectedFailure.arm(3, 7);

        List<JsonNode> failing = run("chat.sql", "failing", Map.of(
                // After the model, so a failure abandons answered rows and rows in flight alike; the function
                // reads the response, so the planner cannot move it before ML_PREDICT.
                "SELECT request_id, response,",
                "SELECT injected_failure(request_id, response) AS request_id, response,"),
                "glm.sql.answers");

        assertThat(InjectedFailure.FAILED.get()).as("failures injected").isEqualTo(2);
        assertThat(failing).extracting(a -> a.get("request_id").asText()).containsExactlyInAnyOrderElementsOf(ROWS);
        assertThat(byRequestId(failing)).isEqualTo(byRequestId(clean));
    }

    /**
     * Fails its task when the {@code n}-th row of the listed ones passes it, counting rows across restarts in
     * this JVM (the MiniCluster's), so each failure happens once and the replayed rows pass: the job then
     * finishes after exactly as many restarts as points.
     */
    public static final class InjectedFailure extends ScalarFunction {
        static final AtomicInteger SEEN = new AtomicInteger();
        static final AtomicInteger FAILED = new AtomicInteger();
        private static volatile List<Integer> points = List.of();

        static void arm(Integer... rows) {
            SEEN.set(0);
            FAILED.set(0);
            points = List.of(rows);
        }

        public String eval(String requestId, String response) {
            int seen = SEEN.incrementAndGet();
            if (points.contains(seen)) {
                FAILED.incrementAndGet();
                throw new IllegalStateException("injected failure at answered row " + seen + " (" + requestId + ")");
            }
            return requestId;
        }
    }

    /**
     * Runs {@code examples/sql/<file>} on the test's own topics and waits for it to finish: writes the prompts,
     * replaces the script's {@code 'glm...'} names by {@code <test>.<run>.glm...}, checkpoints every
     * {@value #CHECKPOINT_INTERVAL} rather than the script's 5 s, and in each statement replaces the keys of
     * {@code edits} by their values (each must occur). Returns the committed JSON records of {@code resultTopic}.
     */
    private static List<JsonNode> run(String file, String run, Map<String, String> edits, String resultTopic)
            throws Exception {
        String prefix = KAFKA.name(run);
        String prompts = KAFKA.topic(run + ".glm.prompts");
        String results = KAFKA.topic(run + "." + resultTopic);
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (String line : PROMPT_LINES) {
            records.add(new ProducerRecord<>(prompts, line.getBytes(UTF_8)));
        }
        KAFKA.produce(records);

        String text = Files.readString(Path.of("sql", file));
        Matcher names = SCRIPT_NAME.matcher(text);
        String renamed = names.replaceAll(m -> Matcher.quoteReplacement("'" + prefix + "." + m.group(1) + "'"));
        SqlScript script = SqlScript.parse(renamed, Map.of(
                "kafka.bootstrap-servers", KAFKA.bootstrapServers(),
                "glm.model.path", KAFKA.model().toString()));
        Map<String, String> settings = new LinkedHashMap<>(script.settings());
        settings.put("execution.checkpointing.interval", CHECKPOINT_INTERVAL);
        List<String> statements = new ArrayList<>();
        if (!edits.isEmpty()) {
            statements.add("CREATE TEMPORARY SYSTEM FUNCTION injected_failure AS '"
                    + InjectedFailure.class.getName() + "'");
        }
        Map<String, Boolean> applied = new LinkedHashMap<>();
        edits.keySet().forEach(key -> applied.put(key, false));
        for (String statement : script.statements()) {
            for (var edit : edits.entrySet()) {
                if (statement.contains(edit.getKey())) {
                    statement = statement.replace(edit.getKey(), edit.getValue());
                    applied.put(edit.getKey(), true);
                }
            }
            statements.add(statement);
        }
        assertThat(applied).as("edits of %s", file).doesNotContainValue(false);

        Configuration restarts = new Configuration();
        restarts.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        restarts.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 5);
        restarts.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(100));
        SqlJob.await(SqlJob.run(new SqlScript(settings, statements), restarts).orElseThrow());

        return KAFKA.readCommitted(results, WireJson.MAPPER::readTree);
    }

    private static List<String> byRequestId(List<JsonNode> records) {
        return records.stream()
                .sorted(Comparator.comparing(r -> r.get("request_id").asText()))
                .map(JsonNode::toString)
                .toList();
    }
}
