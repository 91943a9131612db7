package io.flinkglm.sql;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.runtime.model.DType;
import io.flinkglm.testkit.TinyModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.Metric;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The provider's metrics as a metric reporter receives them: {@code ML_PREDICT} on a MiniCluster whose
 * TaskManager reports to Flink's {@link InMemoryReporter} (which keeps a finished job's metrics), over rows
 * some of which the model cannot answer. The counters must add up to what the rows say: one request per row, one failure per row with an error, prompt and completion tokens as the answered
 * rows report them, one latency and one time-to-first-token sample per answered row.
 */
class PredictMetricsITCase {
    private static final InMemoryReporter REPORTER = InMemoryReporter.createWithRetainedMetrics();

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setConfiguration(REPORTER.addToConfiguration(new Configuration()))
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @TempDir
    static Path dir;

    @Test
    void countersAndHistogramsAddUpToTheRowsServed() throws Exception {
        Path model = TinyModel.write(dir.resolve("tiny"), DType.BF16, 16);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1); // VALUES feeds one subtask of the function; one set of metrics to read
        StreamTableEnvironment sql = StreamTableEnvironment.create(env);
        sql.executeSql("CREATE TEMPORARY MODEL chat INPUT (prompt STRING)"
                + " OUTPUT (response STRING, completion_tokens INT, prompt_tokens INT, error STRING)"
                + " WITH ('provider' = 'glm', 'model.path' = '" + model + "', 'backend' = 'cpu', 'task' = 'chat',"
                + " 'max-tokens' = '5', 'temperature' = '0.9', 'kv-cache-bytes' = '16mb')");
        String tooLong = "q7 ".repeat(3000); // over the tiny model's 4,096-token context
        sql.executeSql("CREATE TEMPORARY VIEW prompts AS SELECT CAST(id AS INT) AS id, CAST(prompt AS STRING) AS prompt"
                + " FROM (VALUES (1, 'hello there'), (2, 'what is the weather'), (3, '" + tooLong + "'),"
                + " (4, 'tell me a story about a fox'), (5, 'hi'), (6, CAST(NULL AS STRING)), (7, 'one more')) AS t(id, prompt)");

        TableResult result = sql.executeSql("SELECT id, completion_tokens, prompt_tokens, error"
                + " FROM ML_PREDICT(TABLE prompts, MODEL chat, DESCRIPTOR(prompt))");
        List<Row> rows = new ArrayList<>();
        try (CloseableIterator<Row> it = result.collect()) {
            it.forEachRemaining(rows::add);
        }
        JobID job = result.getJobClient().orElseThrow().getJobID();

        List<Row> answered = rows.stream().filter(r -> r.getField(3) == null).toList();
        assertThat(rows).hasSize(7);
        assertThat(answered).as("rows with an answer").hasSize(5); // the over-long and the NULL prompt fail
        Map<String, Metric> metrics = REPORTER.getMetricsByIdentifiers(job);
        assertThat(counter(metrics, "requests")).isEqualTo(rows.size());
        assertThat(counter(metrics, "failures")).isEqualTo(rows.size() - answered.size());
        assertThat(counter(metrics, "tokensIn")).isEqualTo(answered.stream().mapToLong(r -> (Integer) r.getField(2)).sum());
        assertThat(counter(metrics, "tokensOut")).isEqualTo(answered.stream().mapToLong(r -> (Integer) r.getField(1)).sum())
                .isPositive();
        List<Histogram> latency = named(metrics, "latencyMs", Histogram.class);
        List<Histogram> ttft = named(metrics, "ttftMs", Histogram.class);
        assertThat(latency.stream().mapToLong(Histogram::getCount).sum()).isEqualTo(answered.size());
        assertThat(ttft.stream().mapToLong(Histogram::getCount).sum()).isEqualTo(answered.size());
        // Per row, arrival to answer spans submission to first token, so the slowest answer bounds the slowest first token.
        assertThat(latency.stream().mapToLong(h -> h.getStatistics().getMax()).max().orElseThrow())
                .isGreaterThanOrEqualTo(ttft.stream().mapToLong(h -> h.getStatistics().getMax()).max().orElseThrow());
        // The engine's gauges are registered beside them (their values are the shared engine's, read live).
        assertThat(named(metrics, "engineBatchSequences", Gauge.class)).hasSize(1);
        assertThat(named(metrics, "kvBlocksUsed", Gauge.class)).hasSize(1);
    }

    /** The value of the function's counter {@code name}. */
    private static long counter(Map<String, Metric> metrics, String name) {
        List<Counter> counters = named(metrics, name, Counter.class);
        assertThat(counters).as("counters named %s", name).hasSize(1);
        return counters.get(0).getCount();
    }

    private static <M extends Metric> List<M> named(Map<String, Metric> metrics, String name, Class<M> type) {
        return metrics.entrySet().stream().filter(e -> e.getKey().endsWith("." + name))
                .map(Map.Entry::getValue).filter(type::isInstance).map(type::cast).toList();
    }
}
