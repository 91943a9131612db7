package io.flinkglm.sql;

import io.flinkglm.operator.ChatInput;
import io.flinkglm.operator.GlmOptions;
import io.flinkglm.operator.GlmStreams;
import io.flinkglm.operator.GlmWorker;
import io.flinkglm.records.Completion;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SamplingOverrides;
import io.flinkglm.records.Task;
import io.flinkglm.runtime.engine.EngineMetrics;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * A benchmark, not a test: {@code OperatorBench}'s prompts (greedy, one conversation each) through
 * {@code ML_PREDICT} and through the chat operator, alternating per round, each a job of parallelism 1 on a
 * local MiniCluster with the same in-flight capacity, on one engine: both sides use the TaskManager's shared
 * engine ({@link GlmOptions#SHARED_ENGINE}, as the SQL provider always does), and the bench holds a lease on
 * it, so neither side pays for loading the model or sizing the KV pool. Tokens/s of each side count the
 * whole job (submit to last row collected), the only window both sides can measure. The mean batch is the
 * engine's output tokens per step during each side's job, from {@link EngineMetrics} ({@code generatedTokens}
 * and {@code steps} before and after).
 *
 * <pre>{@code
 * mvn -q -pl sql -am test-compile dependency:build-classpath -DskipTests \
 *     -Dmdep.includeScope=test -Dmdep.outputFile=/tmp/cp.txt
 * java --add-modules jdk.incubator.vector -Xmx8g \
 *     -cp sql/target/test-classes:sql/target/classes:$(cat /tmp/cp.txt) \
 *     io.flinkglm.sql.SqlOperatorBench models/small --prompts 32 --max-tokens 32 --capacity 16 --rounds 3
 * }</pre>
 * Prints one JSON object: per round, tokens/s of each side, their ratio and each side's mean batch. The
 * {@code CollectResultFetcher} warnings after each job are the local MiniCluster shutting down first.
 */
final class SqlOperatorBench {
    private static final MemorySize KV = MemorySize.ofMebiBytes(256);

    private SqlOperatorBench() {}

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        int prompts = Integer.parseInt(option(args, "--prompts", "32"));
        int maxTokens = Integer.parseInt(option(args, "--max-tokens", "32"));
        int capacity = Integer.parseInt(option(args, "--capacity", "16"));
        int rounds = Integer.parseInt(option(args, "--rounds", "3"));
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < prompts; i++) {
            texts.add("Question number " + i + ": what is stream processing?"); // OperatorBench's prompts
        }
        Configuration shared = new Configuration();
        shared.set(GlmOptions.MODEL_PATH, model.toString());
        shared.set(GlmOptions.BACKEND, "cpu");
        shared.set(GlmOptions.KV_CACHE_BYTES, KV.getBytes());
        shared.set(GlmOptions.SHARED_ENGINE, true);
        try (GlmWorker engine = GlmWorker.acquire(shared, "sql-operator-bench")) {
            // A first pass of each side compiles the kernels and loads Flink's classes.
            List<String> warmUp = texts.subList(0, Math.min(capacity, texts.size()));
            runSql(model, warmUp, maxTokens, capacity);
            runOperator(model, warmUp, maxTokens, capacity);

            List<String> roundJson = new ArrayList<>();
            double[] ratios = new double[rounds];
            for (int round = 0; round < rounds; round++) {
                EngineMetrics before = engine.engine().metrics();
                double[] sql = runSql(model, texts, maxTokens, capacity);
                EngineMetrics between = engine.engine().metrics();
                double[] operator = runOperator(model, texts, maxTokens, capacity);
                EngineMetrics after = engine.engine().metrics();
                double sqlRate = sql[0] / sql[1];
                double operatorRate = operator[0] / operator[1];
                ratios[round] = sqlRate / operatorRate;
                roundJson.add(String.format("{\"sql_tokens\": %d, \"sql_tokens_per_s\": %.2f, \"operator_tokens\": %d,"
                                + " \"operator_tokens_per_s\": %.2f, \"sql_to_operator\": %.3f,"
                                + " \"sql_mean_batch\": %.2f, \"operator_mean_batch\": %.2f}", (long) sql[0], sqlRate,
                        (long) operator[0], operatorRate, ratios[round], meanBatch(before, between),
                        meanBatch(between, after)));
                System.err.println("sql-operator-bench: round " + (round + 1) + " " + roundJson.get(round));
            }
            double[] sorted = ratios.clone();
            Arrays.sort(sorted);
            System.out.printf("{\"prompts\": %d, \"max_tokens\": %d, \"capacity\": %d, \"rounds\": [%s],"
                            + " \"sql_to_operator_median\": %.3f}%n",
                    prompts, maxTokens, capacity, String.join(", ", roundJson), sorted[rounds / 2]);
        }
    }

    /** Output tokens per engine step between two snapshots. */
    private static double meanBatch(EngineMetrics from, EngineMetrics to) {
        return (double) (to.generatedTokens() - from.generatedTokens()) / Math.max(1, to.steps() - from.steps());
    }

    /** {output tokens, seconds} of one ML_PREDICT job over the prompts. */
    private static double[] runSql(Path model, List<String> texts, int maxTokens, int capacity) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        StreamTableEnvironment sql = StreamTableEnvironment.create(env);
        sql.executeSql("CREATE TEMPORARY MODEL chat INPUT (prompt STRING) OUTPUT (completion_tokens INT)"
                + " WITH ('provider' = 'glm', 'model.path' = '" + model + "', 'backend' = 'cpu', 'task' = 'chat',"
                + " 'max-tokens' = '" + maxTokens + "', 'capacity' = '" + capacity + "',"
                + " 'kv-cache-bytes' = '" + KV.getMebiBytes() + "mb')");
        sql.createTemporaryView("prompts", sql.fromValues(DataTypes.ROW(DataTypes.FIELD("prompt", DataTypes.STRING())),
                texts.stream().map(Row::of).toArray()));
        long start = System.nanoTime();
        long tokens = 0;
        try (CloseableIterator<Row> rows = sql.executeSql("SELECT completion_tokens FROM ML_PREDICT(TABLE prompts,"
                + " MODEL chat, DESCRIPTOR(prompt), MAP['max-concurrent-operations', '" + capacity + "'])").collect()) {
            while (rows.hasNext()) {
                tokens += (Integer) rows.next().getField(0);
            }
        }
        return new double[] {tokens, (System.nanoTime() - start) / 1e9};
    }

    /** {output tokens, seconds} of one chat-operator job over the prompts, one conversation each. */
    private static double[] runOperator(Path model, List<String> texts, int maxTokens, int capacity) throws Exception {
        Configuration conf = new Configuration();
        conf.set(GlmOptions.MODEL_PATH, model.toString());
        conf.set(GlmOptions.BACKEND, "cpu");
        conf.set(GlmOptions.CAPACITY, capacity);
        conf.set(GlmOptions.MAX_TOKENS, maxTokens);
        conf.set(GlmOptions.KV_CACHE_BYTES, KV.getBytes());
        conf.set(GlmOptions.SHARED_ENGINE, true);
        List<Prompt> inputs = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            inputs.add(new Prompt("bench-" + i, "conv-" + i, null, texts.get(i), null, null,
                    new SamplingOverrides(0.0, null, null, maxTokens, null), null, Task.CHAT));
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        GlmStreams.Chat chat = GlmStreams.chat(env.fromData(inputs).map(ChatInput::of)
                .keyBy(ChatInput::conversationId, Types.STRING), conf);
        long start = System.nanoTime();
        long tokens = 0;
        for (Iterator<Completion> it = chat.completions().executeAndCollect(); it.hasNext(); ) {
            tokens += it.next().completionTokens();
        }
        return new double[] {tokens, (System.nanoTime() - start) / 1e9};
    }

    private static String option(String[] args, String name, String fallback) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        return fallback;
    }
}
