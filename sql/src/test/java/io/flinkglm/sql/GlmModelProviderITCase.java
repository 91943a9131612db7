package io.flinkglm.sql;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import io.flinkglm.runtime.constraint.Constraint;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.safety.SafetyVerdict;
import io.flinkglm.testkit.TinyModel;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.ExceptionUtils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * {@code CREATE MODEL ... WITH ('provider' = 'glm')} and {@code ML_PREDICT} on a MiniCluster with the tiny
 * model on the CPU, as a user writes them: every answer is checked against the engine alone for the same
 * seed, bad rows against the error-handling strategy, and planning errors against their messages.
 */
class GlmModelProviderITCase {
    private static final int MAX_TOKENS = 6;
    private static final ObjectMapper JSON = new ObjectMapper();

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @TempDir
    static Path dir;
    static Path model;
    static EngineAlone reference;

    @BeforeAll
    static void writeModel() throws Exception {
        model = TinyModel.write(dir.resolve("tiny"), DType.BF16, 16);
        reference = new EngineAlone(model);
    }

    @AfterAll
    static void closeReference() {
        reference.close();
    }

    @Test
    void chatRowsAreAnsweredAsTheEngineAloneAnswersThemForTheSameSeed() throws Exception {
        StreamTableEnvironment sql = sql(2);
        sql.executeSql(model("chat4", "INPUT (prompt STRING, seed BIGINT)"
                + " OUTPUT (response STRING, finish_reason STRING, completion_tokens INT, prompt_tokens INT, error STRING)",
                "'task' = 'chat', 'temperature' = '0.9'"));
        sql.executeSql(view("prompts", "(1, 'hello there', 11), (2, 'what is the weather', 12), "
                + "(3, 'tell me a story', 13), (4, 'hello there', 14)", "id, prompt, seed"));

        List<Row> rows = collect(sql, "SELECT id, prompt, seed, response, finish_reason, completion_tokens, error"
                + " FROM ML_PREDICT(TABLE prompts, MODEL chat4, DESCRIPTOR(prompt, seed))");

        assertThat(rows).hasSize(4);
        for (Row row : rows) {
            String expected = reference.chat((String) row.getField(1), 0.9, (Long) row.getField(2), MAX_TOKENS);
            assertThat(row.getField(3)).as("row %s", row.getField(0)).isEqualTo(expected);
            assertThat(row.getField(4)).isEqualTo("length"); // the tiny model never stops on its own
            assertThat(row.getField(5)).isEqualTo(MAX_TOKENS);
            assertThat(row.getField(6)).isNull();
        }
        assertThat(rows.get(0).getField(3)).as("same prompt, other seed: other tokens at temperature 0.9")
                .isNotEqualTo(rows.get(3).getField(3));
    }

    @Test
    void withoutASeedColumnARowIsSeededByItsValuesSoTheSameRowGetsTheSameAnswerInEveryRun() throws Exception {
        StreamTableEnvironment sql = sql(2);
        sql.executeSql(model("sampled", "INPUT (prompt STRING) OUTPUT (response STRING)",
                "'task' = 'chat', 'temperature' = '1.0'"));
        sql.executeSql(view("prompts", "(1, 'hello there'), (2, 'hello there'), (3, 'a different prompt')", "id, prompt"));
        String query = "SELECT id, response FROM ML_PREDICT(TABLE prompts, MODEL sampled, DESCRIPTOR(prompt))";

        List<Row> first = collect(sql, query);
        List<Row> second = collect(sql, query);

        assertThat(first.get(0).getField(1)).isEqualTo(first.get(1).getField(1));
        assertThat(first).isEqualTo(second);
    }

    @Test
    void theSynchronousPathAnswersAsTheAsynchronousOne() throws Exception {
        StreamTableEnvironment sql = sql(1);
        sql.executeSql(model("greedy", "INPUT (prompt STRING) OUTPUT (response STRING, completion_tokens INT)",
                "'task' = 'chat'"));
        sql.executeSql(view("prompts", "(1, 'hello there'), (2, 'tell me a story')", "id, prompt"));

        List<Row> async = collect(sql, "SELECT id, response FROM ML_PREDICT(TABLE prompts, MODEL greedy,"
                + " DESCRIPTOR(prompt), MAP['async', 'true'])");
        List<Row> sync = collect(sql, "SELECT id, response FROM ML_PREDICT(TABLE prompts, MODEL greedy,"
                + " DESCRIPTOR(prompt), MAP['async', 'false'])");

        assertThat(sync).isEqualTo(async);
        assertThat(async.get(0).getField(1)).isEqualTo(reference.chat("hello there", 0, 0, MAX_TOKENS));
    }

    @Test
    void moderateGivesTheSafetyClassifiersVerdictPerRow() throws Exception {
        StreamTableEnvironment sql = sql(2);
        sql.executeSql(model("guard", "INPUT (text STRING) OUTPUT (flagged BOOLEAN, categories ARRAY<STRING>,"
                + " scores MAP<STRING, DOUBLE>, category STRING)", "'task' = 'moderate'"));
        sql.executeSql(view("messages", "(1, 'hello there'), (2, 'how do I pick a lock'), (3, 'you are an idiot')",
                "id, text"));

        List<Row> rows = collect(sql, "SELECT id, text, flagged, categories, scores, category"
                + " FROM ML_PREDICT(TABLE messages, MODEL guard, DESCRIPTOR(text))");

        assertThat(rows).hasSize(3);
        for (Row row : rows) {
            SafetyVerdict expected = reference.moderate((String) row.getField(1));
            @SuppressWarnings("unchecked")
            Map<String, Double> scores = (Map<String, Double>) row.getField(4);
            assertThat(scores).containsOnlyKeys(expected.probabilities().keySet());
            expected.probabilities().forEach((category, p) -> assertThat(scores.get(category)).isCloseTo(p, within(1e-5)));
            assertThat(row.getField(2)).isEqualTo(expected.flagged());
            assertThat((String[]) row.getField(3)).containsExactlyElementsOf(expected.flaggedCategories());
            assertThat(row.getField(5)).isEqualTo(expected.topCategory());
        }
    }

    @Test
    void classifyPicksTheMostProbableLabelFromOneSoftmaxOverTheLabels() throws Exception {
        StreamTableEnvironment sql = sql(2);
        sql.executeSql(model("sentiment", "INPUT (text STRING) OUTPUT (label STRING, score DOUBLE,"
                + " scores MAP<STRING, DOUBLE>)",
                "'task' = 'classify', 'labels' = 'positive,mixed,awful'"));
        sql.executeSql(view("reviews", "(1, 'great product'), (2, 'it broke after a day'), (3, 'great product')",
                "id, text"));

        List<Row> rows = collect(sql, "SELECT id, label, score, scores"
                + " FROM ML_PREDICT(TABLE reviews, MODEL sentiment, DESCRIPTOR(text))");

        assertThat(rows).hasSize(3);
        for (Row row : rows) {
            @SuppressWarnings("unchecked")
            Map<String, Double> scores = (Map<String, Double>) row.getField(3);
            assertThat(scores).containsOnlyKeys("positive", "mixed", "awful");
            assertThat(scores.values().stream().mapToDouble(Double::doubleValue).sum()).isCloseTo(1.0, within(1e-4));
            String best = scores.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
            assertThat(row.getField(1)).isEqualTo(best);
            assertThat((Double) row.getField(2)).isEqualTo(scores.get(best));
        }
        assertThat(rows.get(0).getField(3)).as("classification samples nothing").isEqualTo(rows.get(2).getField(3));
    }

    @Test
    void badRowsGetNullOutputsAndTheirErrorWhileTheOtherRowsAreAnswered() throws Exception {
        StreamTableEnvironment sql = sql(2);
        sql.executeSql(model("conversations", "INPUT (messages ARRAY<ROW<role STRING, content STRING>>)"
                + " OUTPUT (response STRING, completion_tokens INT, error STRING)", "'task' = 'chat'"));
        String tooLong = "q7 ".repeat(3000); // over the tiny model's 4,096-token context
        sql.executeSql("CREATE TEMPORARY VIEW inputs AS SELECT id, CAST(messages AS ARRAY<ROW<role STRING, content STRING>>)"
                + " AS messages FROM (VALUES"
                + " (1, ARRAY[ROW('user', 'hello there')]),"
                + " (2, ARRAY[ROW('wizard', 'cast a spell')]),"
                + " (3, ARRAY[ROW('user', '" + tooLong + "')]),"
                + " (4, ARRAY[ROW('system', 'be brief'), ROW('user', 'tell me a story')])) AS t(id, messages)");

        List<Row> rows = collect(sql, "SELECT id, response, completion_tokens, error"
                + " FROM ML_PREDICT(TABLE inputs, MODEL conversations, DESCRIPTOR(messages))");

        assertThat(rows).extracting(r -> r.getField(0)).containsExactly(1, 2, 3, 4);
        assertThat(rows.get(0).getField(1)).isEqualTo(reference.chat("hello there", 0, 0, MAX_TOKENS));
        assertThat(rows.get(0).getField(3)).isNull();
        assertThat(rows.get(1).getField(1)).isNull();
        assertThat(rows.get(1).getField(2)).isNull();
        assertThat((String) rows.get(1).getField(3)).startsWith("invalid_messages").contains("wizard");
        assertThat(rows.get(2).getField(1)).isNull();
        assertThat((String) rows.get(2).getField(3)).startsWith("context_exceeded");
        assertThat(rows.get(3).getField(2)).isEqualTo(MAX_TOKENS);
        assertThat(rows.get(3).getField(3)).isNull();
    }

    @Test
    void theFailStrategyFailsTheJobOnABadRow() {
        StreamTableEnvironment sql = sql(1);
        sql.executeSql(model("strict", "INPUT (prompt STRING) OUTPUT (response STRING)",
                "'task' = 'complete', 'error-handling-strategy' = 'fail'"));
        sql.executeSql(view("prompts", "(1, 'hello'), (2, '" + "q7 ".repeat(3000) + "')", "id, prompt"));

        assertThatThrownBy(() -> collect(sql, "SELECT id, response FROM ML_PREDICT(TABLE prompts, MODEL strict,"
                + " DESCRIPTOR(prompt))"))
                .satisfies(e -> assertThat(ExceptionUtils.findThrowable(e, GlmPredictException.class)).get()
                        .extracting(Throwable::getMessage).asString().contains("context_exceeded"));
    }

    @Test
    void aMistypedOptionFailsPlanningWithTheListOfValidKeys() {
        StreamTableEnvironment sql = sql(1);
        sql.executeSql(model("typo", "INPUT (prompt STRING) OUTPUT (response STRING)", "'max_tokens' = '5'"));
        sql.executeSql(view("prompts", "(1, 'hello')", "id, prompt"));

        assertThatThrownBy(() -> sql.explainSql("SELECT * FROM ML_PREDICT(TABLE prompts, MODEL typo, DESCRIPTOR(prompt))"))
                .satisfies(e -> assertThat(ExceptionUtils.stringifyException(e))
                        .contains("max_tokens").contains("max-tokens").contains("error-handling-strategy"));
    }

    @Test
    void aDeclaredOutputColumnTheTaskCannotFillFailsPlanningNamingIt() {
        StreamTableEnvironment sql = sql(1);
        sql.executeSql(model("mismatch", "INPUT (prompt STRING) OUTPUT (response STRING, label STRING)", "'task' = 'chat'"));
        sql.executeSql(view("prompts", "(1, 'hello')", "id, prompt"));

        assertThatThrownBy(() -> sql.explainSql(
                "SELECT * FROM ML_PREDICT(TABLE prompts, MODEL mismatch, DESCRIPTOR(prompt))"))
                .satisfies(e -> assertThat(ExceptionUtils.stringifyException(e))
                        .contains("output column 'label'").contains("task chat cannot fill"));
    }

    @Test
    void aJsonSchemaModelAnswersEveryRowWithJsonValidUnderItsSchema() throws Exception {
        String schema = "{\"enum\":[\"low\",\"high\",\"ok\"]}";
        StreamTableEnvironment sql = sql(2);
        sql.executeSql(model("triage", "INPUT (prompt STRING, seed BIGINT) OUTPUT (response STRING, finish_reason STRING,"
                + " error STRING)", "'task' = 'chat', 'temperature' = '1.0', 'json-schema' = '" + schema + "'"));
        sql.executeSql(model("objects", "INPUT (prompt STRING, seed BIGINT) OUTPUT (response STRING, finish_reason STRING)",
                "'task' = 'complete', 'temperature' = '1.0', 'response-format' = 'json'"));
        sql.executeSql(view("tickets", "(1, 'login fails', 1), (2, 'printer on fire', 2), (3, 'thanks!', 3),"
                + " (4, 'slow page', 4), (5, 'cannot pay', 5), (6, 'hello', 6)", "id, prompt, seed"));

        List<Row> triaged = collect(sql, "SELECT id, response, finish_reason, error"
                + " FROM ML_PREDICT(TABLE tickets, MODEL triage, DESCRIPTOR(prompt, seed))");
        List<Row> objects = collect(sql, "SELECT id, response, finish_reason"
                + " FROM ML_PREDICT(TABLE tickets, MODEL objects, DESCRIPTOR(prompt, seed))");

        JsonSchema validator = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(schema);
        assertThat(triaged).hasSize(6).allSatisfy(row -> {
            assertThat(row.getField(3)).isNull();
            assertThat(row.getField(2)).as("an enum of short words fits in %s tokens", MAX_TOKENS).isEqualTo("stop");
            assertThat(validator.validate(JSON.readTree((String) row.getField(1)))).as("%s", row).isEmpty();
        });
        assertThat(objects).hasSize(6).allSatisfy(row -> {
            String text = (String) row.getField(1);
            if ("stop".equals(row.getField(2))) {
                assertThat(JSON.readTree(text).isObject()).as(text).isTrue();
            } else {
                Constraint any = Constraint.jsonObject();
                assertThat(any.advance(any.startState(), text.getBytes(StandardCharsets.UTF_8)))
                        .as("a cut answer is a prefix of a JSON object: %s", text).isNotNegative();
            }
        });
    }

    @Test
    void aJsonSchemaWithAnUnsupportedKeywordFailsPlanningNamingIt() {
        StreamTableEnvironment sql = sql(1);
        sql.executeSql(model("bounded", "INPUT (prompt STRING) OUTPUT (response STRING)",
                "'json-schema' = '{\"type\":\"number\",\"minimum\":1}'"));
        sql.executeSql(model("labelled", "INPUT (text STRING) OUTPUT (label STRING)",
                "'task' = 'classify', 'labels' = 'a,b', 'response-format' = 'json'"));
        sql.executeSql(view("prompts", "(1, 'hello')", "id, prompt"));
        sql.executeSql(view("texts", "(1, 'hello')", "id, text"));

        assertThatThrownBy(() -> sql.explainSql("SELECT * FROM ML_PREDICT(TABLE prompts, MODEL bounded, DESCRIPTOR(prompt))"))
                .satisfies(e -> assertThat(ExceptionUtils.stringifyException(e))
                        .contains("'json-schema'").contains("minimum"));
        assertThatThrownBy(() -> sql.explainSql("SELECT * FROM ML_PREDICT(TABLE texts, MODEL labelled, DESCRIPTOR(text))"))
                .satisfies(e -> assertThat(ExceptionUtils.stringifyException(e))
                        .contains("'response-format'").contains("task is classify"));
    }

    @Test
    void priorityAndTenantColumnsScheduleTheRowWithoutChangingItsTokens() throws Exception {
        StreamTableEnvironment sql = sql(2);
        sql.executeSql(model("shared", "INPUT (prompt STRING, seed BIGINT, priority INT, tenant STRING)"
                + " OUTPUT (response STRING, error STRING)", "'task' = 'chat', 'temperature' = '0.9'"));
        sql.executeSql("CREATE TEMPORARY VIEW prompts AS SELECT CAST(id AS INT) AS id, CAST(prompt AS STRING) AS prompt,"
                + " CAST(seed AS BIGINT) AS seed, CAST(priority AS INT) AS priority, CAST(tenant AS STRING) AS tenant"
                + " FROM (VALUES (1, 'hello there', 11, -5, 'acme'), (2, 'tell me a story', 12, 7, 'beta'),"
                + " (3, 'hello there', 13, CAST(NULL AS INT), CAST(NULL AS STRING)), (4, 'hello there', 14, 5000, 'acme'))"
                + " AS t(id, prompt, seed, priority, tenant)");

        List<Row> rows = collect(sql, "SELECT id, prompt, seed, response, error"
                + " FROM ML_PREDICT(TABLE prompts, MODEL shared, DESCRIPTOR(prompt, seed, priority, tenant))");

        assertThat(rows).hasSize(4);
        for (Row row : rows.subList(0, 3)) {
            assertThat(row.getField(4)).as("row %s", row.getField(0)).isNull();
            assertThat(row.getField(3)).as("row %s", row.getField(0))
                    .isEqualTo(reference.chat((String) row.getField(1), 0.9, (Long) row.getField(2), MAX_TOKENS));
        }
        assertThat(rows.get(3).getField(3)).isNull();
        assertThat((String) rows.get(3).getField(4)).startsWith("invalid_priority").contains("5000");

        // Without a seed column a row is seeded by its values, but not by when or for whom it is served.
        sql.executeSql(model("unseeded", "INPUT (prompt STRING, priority INT, tenant STRING) OUTPUT (response STRING)",
                "'task' = 'chat', 'temperature' = '0.9'"));
        List<Row> unseeded = collect(sql, "SELECT id, response"
                + " FROM ML_PREDICT(TABLE prompts, MODEL unseeded, DESCRIPTOR(prompt, priority, tenant))");
        assertThat(unseeded.get(0).getField(1)).as("same prompt, other priority and tenant")
                .isNotNull().isEqualTo(unseeded.get(2).getField(1));
    }

    @Test
    void aPriorityColumnOfTheWrongTypeFailsPlanningNamingIt() {
        StreamTableEnvironment sql = sql(1);
        sql.executeSql(model("typed", "INPUT (prompt STRING, priority STRING) OUTPUT (response STRING)", "'task' = 'chat'"));
        sql.executeSql(view("prompts", "(1, 'hello', 'high')", "id, prompt, priority"));

        assertThatThrownBy(() -> sql.explainSql(
                "SELECT * FROM ML_PREDICT(TABLE prompts, MODEL typed, DESCRIPTOR(prompt, priority))"))
                .satisfies(e -> assertThat(ExceptionUtils.stringifyException(e))
                        .contains("input column 'priority'").contains("must be INT"));
    }

    private static StreamTableEnvironment sql(int parallelism) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(parallelism);
        return StreamTableEnvironment.create(env);
    }

    private static String model(String name, String columns, String options) {
        return "CREATE TEMPORARY MODEL " + name + " " + columns + " WITH ('provider' = 'glm', 'model.path' = '"
                + model + "', 'backend' = 'cpu', 'max-tokens' = '" + MAX_TOKENS + "', 'kv-cache-bytes' = '16mb', "
                + options + ")";
    }

    /** A view over VALUES with STRING (not CHAR) text columns, as a table of prompts would have. */
    private static String view(String name, String values, String columns) {
        String[] names = columns.split(",\\s*");
        StringBuilder select = new StringBuilder();
        for (String c : names) {
            select.append(select.isEmpty() ? "" : ", ")
                    .append(c.equals("id") || c.equals("seed") ? "CAST(" + c + " AS " + (c.equals("id") ? "INT" : "BIGINT")
                            + ") AS " + c : "CAST(" + c + " AS STRING) AS " + c);
        }
        return "CREATE TEMPORARY VIEW " + name + " AS SELECT " + select + " FROM (VALUES " + values + ") AS t(" + columns + ")";
    }

    /** The query's rows, by id (column 0): ML_PREDICT keeps no order across subtasks. */
    private static List<Row> collect(StreamTableEnvironment sql, String query) throws Exception {
        List<Row> rows = new ArrayList<>();
        try (CloseableIterator<Row> it = sql.executeSql(query).collect()) {
            it.forEachRemaining(rows::add);
        }
        rows.sort(Comparator.comparing(r -> (Integer) r.getField(0)));
        return rows;
    }
}
