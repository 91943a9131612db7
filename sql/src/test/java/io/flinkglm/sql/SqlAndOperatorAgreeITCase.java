package io.flinkglm.sql;

import io.flinkglm.operator.ChatInput;
import io.flinkglm.operator.GlmOptions;
import io.flinkglm.operator.GlmStreams;
import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SamplingOverrides;
import io.flinkglm.records.Task;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.testkit.CollectingSink;
import io.flinkglm.testkit.TinyModel;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.types.Row;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One rule for both ways in: a chat prompt with the same options and seed gets the same tokens through
 * {@code ML_PREDICT} as through {@link GlmStreams#chat} (one conversation per prompt, its first turn).
 * Both render the user message with the GLM-4 chat template and the generation prompt, stop on the
 * tokenizer's stop ids plus the model's EOS ids, and seed the first turn with the given seed unchanged
 * (the operator adds a per-generation offset, which is 0 for a conversation's first turn).
 */
class SqlAndOperatorAgreeITCase {
    private static final int MAX_TOKENS = 6;
    private static final double TEMPERATURE = 0.9;
    private static final List<String> PROMPTS = List.of("hello there", "what is the weather", "tell me a story",
            "hello there");
    private static final long FIRST_SEED = 41;

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void writeModel() throws Exception {
        model = TinyModel.write(dir.resolve("tiny"), DType.BF16, 16);
    }

    @Test
    void mlPredictAnswersAChatPromptAsTheOperatorsFirstTurnDoesForTheSameSeed() throws Exception {
        Map<Integer, String> sql = throughSql();
        Map<Integer, String> operator = throughOperator();

        assertThat(sql).hasSize(PROMPTS.size());
        assertThat(sql).isEqualTo(operator);
        assertThat(sql.get(0)).as("the same prompt with another seed samples other tokens at temperature %s", TEMPERATURE)
                .isNotEqualTo(sql.get(3));
    }

    private static Map<Integer, String> throughSql() throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        StreamTableEnvironment sql = StreamTableEnvironment.create(env);
        sql.executeSql("CREATE TEMPORARY MODEL chat INPUT (prompt STRING, seed BIGINT) OUTPUT (response STRING)"
                + " WITH ('provider' = 'glm', 'model.path' = '" + model + "', 'backend' = 'cpu', 'task' = 'chat',"
                + " 'max-tokens' = '" + MAX_TOKENS + "', 'temperature' = '" + TEMPERATURE + "',"
                + " 'kv-cache-bytes' = '16mb')");
        StringBuilder values = new StringBuilder();
        for (int i = 0; i < PROMPTS.size(); i++) {
            values.append(i == 0 ? "" : ", ").append("(").append(i).append(", '").append(PROMPTS.get(i)).append("', ")
                    .append(FIRST_SEED + i).append(")");
        }
        sql.executeSql("CREATE TEMPORARY VIEW prompts AS SELECT CAST(id AS INT) AS id, CAST(prompt AS STRING) AS prompt,"
                + " CAST(seed AS BIGINT) AS seed FROM (VALUES " + values + ") AS t(id, prompt, seed)");
        Map<Integer, String> answers = new TreeMap<>();
        try (CloseableIterator<Row> rows = sql.executeSql("SELECT id, response FROM ML_PREDICT(TABLE prompts,"
                + " MODEL chat, DESCRIPTOR(prompt, seed))").collect()) {
            rows.forEachRemaining(r -> answers.put((Integer) r.getField(0), (String) r.getField(1)));
        }
        return answers;
    }

    private static Map<Integer, String> throughOperator() throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        Configuration glm = new Configuration();
        glm.set(GlmOptions.MODEL_PATH, model.toString());
        glm.set(GlmOptions.BACKEND, "cpu");
        glm.set(GlmOptions.MAX_TOKENS, MAX_TOKENS);
        glm.set(GlmOptions.TEMPERATURE, TEMPERATURE);
        glm.set(GlmOptions.KV_CACHE_BYTES, 16L << 20);
        List<ChatInput> inputs = new ArrayList<>();
        for (int i = 0; i < PROMPTS.size(); i++) {
            SamplingOverrides seeded = new SamplingOverrides(null, null, null, null, FIRST_SEED + i);
            inputs.add(ChatInput.of(new Prompt(String.valueOf(i), "conversation-" + i, null, PROMPTS.get(i), null, null,
                    seeded, null, Task.CHAT)));
        }
        CollectingSink<Completion> completions = new CollectingSink<>();
        CollectingSink<DeadLetter> errors = new CollectingSink<>();
        GlmStreams.Chat chat = GlmStreams.chat(env.fromData(inputs, TypeInformation.of(ChatInput.class))
                .keyBy(ChatInput::conversationId), glm);
        chat.completions().sinkTo(completions);
        chat.errors().sinkTo(errors);
        env.execute("chat");
        assertThat(errors.received()).isEmpty();
        return completions.received().stream()
                .collect(Collectors.toMap(c -> Integer.valueOf(c.requestId()), Completion::text, (a, b) -> a, TreeMap::new));
    }
}
