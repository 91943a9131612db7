package io.flinkglm.operator;

import io.flinkglm.records.Completion;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SafetyVerdict;
import io.flinkglm.records.Task;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.RandomCheckpoint;
import io.flinkglm.runtime.tokenizer.SyntheticTokenizer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Moderation in the chat pipeline on a MiniCluster: every checked text gets one verdict, flagged
 * prompts are refused and never generated, moderate-only prompts are answered by their verdict.
 * The random model's scores are arbitrary, so the policies' thresholds decide: a threshold at the
 * smallest positive value always flags, 1.0 never does.
 */
class ModerationITCase {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    @TempDir
    static Path dir;
    static Path model;

    @BeforeAll
    static void writeModel() throws Exception {
        model = dir.resolve("tiny");
        RandomCheckpoint.write(model, RandomCheckpoint.preset("tiny", DType.BF16), DType.BF16, 1, 3, null);
        SyntheticTokenizer.write(model, 1024);
    }

    @Test
    void flaggedPromptsAreRefusedWithAVerdictAndNeverGenerated() throws Exception {
        List<String> out = run(GlmOptions.ModerationMode.PROMPTS, policy(Double.MIN_VALUE), prompts(Task.CHAT, 4));

        assertThat(out).filteredOn(s -> s.startsWith("verdict")).hasSize(4).allMatch(s -> s.endsWith("flagged=true"));
        assertThat(out).filteredOn(s -> s.startsWith("completion")).hasSize(4)
                .allMatch(s -> s.contains("finish=CONTENT_FILTER") && s.contains("tokens=0"));
    }

    @Test
    void passedPromptsAndTheirCompletionsAreBothCheckedInModeBoth() throws Exception {
        List<String> out = run(GlmOptions.ModerationMode.BOTH, policy(1.0), prompts(Task.CHAT, 3));

        assertThat(out).filteredOn(s -> s.startsWith("verdict prompt")).hasSize(3);
        assertThat(out).filteredOn(s -> s.startsWith("verdict completion")).hasSize(3);
        assertThat(out).filteredOn(s -> s.startsWith("completion")).hasSize(3).allMatch(s -> s.contains("finish=LENGTH"));
    }

    @Test
    void streamingModerationWithholdsFlaggedCompletionsAndSendsOneVerdictPerTurn() throws Exception {
        List<String> flagged = run(GlmOptions.ModerationMode.STREAMING, policy(Double.MIN_VALUE), prompts(Task.CHAT, 3));
        List<String> passed = run(GlmOptions.ModerationMode.STREAMING, policy(1.0), prompts(Task.CHAT, 3));

        assertThat(flagged).filteredOn(s -> s.startsWith("verdict")).hasSize(3)
                .allMatch(s -> s.startsWith("verdict completion") && s.endsWith("flagged=true"));
        assertThat(flagged).filteredOn(s -> s.startsWith("completion")).hasSize(3)
                .allMatch(s -> s.contains("finish=CONTENT_FILTER") && s.contains("text=null"));
        assertThat(passed).filteredOn(s -> s.startsWith("verdict")).hasSize(3)
                .allMatch(s -> s.startsWith("verdict completion") && s.endsWith("flagged=false"));
        assertThat(passed).filteredOn(s -> s.startsWith("completion")).hasSize(3)
                .allMatch(s -> s.contains("finish=LENGTH") && s.contains("tokens=4") && !s.contains("text=null"));
    }

    @Test
    void moderateTasksAreAnsweredByTheirVerdictAloneEvenWithModerationOff() throws Exception {
        List<Prompt> inputs = new ArrayList<>(prompts(Task.MODERATE, 2));
        inputs.addAll(prompts(Task.CHAT, 1));

        List<String> out = run(GlmOptions.ModerationMode.NONE, policy(1.0), inputs);

        assertThat(out).filteredOn(s -> s.startsWith("verdict prompt")).hasSize(2);
        assertThat(out).filteredOn(s -> s.startsWith("completion")).hasSize(1);
    }

    private static List<String> run(GlmOptions.ModerationMode mode, Path policy, List<Prompt> prompts) throws Exception {
        Configuration conf = new Configuration();
        conf.set(GlmOptions.MODEL_PATH, model.toString());
        conf.set(GlmOptions.BACKEND, "cpu");
        conf.set(GlmOptions.MAX_TOKENS, 4);
        conf.set(GlmOptions.MODERATION, mode);
        conf.set(GlmOptions.MODERATION_POLICY, policy.toString());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        DataStream<ChatInput> inputs = env.fromData(prompts.stream().map(ChatInput::of).toList());
        GlmStreams.Chat chat = GlmStreams.chat(inputs.keyBy(ChatInput::conversationId), conf);
        DataStream<String> all = chat.completions().map(ModerationITCase::describe)
                .union(chat.safety().map(ModerationITCase::describe))
                .union(chat.errors().map(e -> "error " + e.reason()));
        List<String> out = new ArrayList<>();
        all.executeAndCollect().forEachRemaining(out::add);
        assertThat(out).noneMatch(s -> s.startsWith("error"));
        return out;
    }

    private static String describe(Completion c) {
        return "completion " + c.requestId() + " finish=" + c.finishReason() + " tokens=" + c.completionTokens()
                + (c.text() == null ? " text=null" : "");
    }

    private static String describe(SafetyVerdict v) {
        return "verdict " + v.checked().name().toLowerCase() + " " + v.requestId() + " flagged=" + v.flagged();
    }

    private static List<Prompt> prompts(Task task, int n) {
        List<Prompt> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new Prompt(task + "-" + i, "conv-" + task + "-" + i, null, "message number " + i, null, null,
                    null, null, task));
        }
        return out;
    }

    /** A two-category policy; the "Spam" threshold decides whether everything or nothing is flagged. */
    private static Path policy(double spamThreshold) throws Exception {
        Path file = Files.createTempFile(dir, "policy", ".json");
        Files.writeString(file, """
                {"instructions": "Decide whether this text breaks the forum rules.",
                 "answerPrefix": "\\nVerdict:",
                 "categories": [
                   {"name": "Spam", "description": "advertising", "openai": "illicit", "threshold": %s, "label": "S"},
                   {"name": "OK", "label": "O", "safe": true}]}""".formatted(spamThreshold));
        return file;
    }
}
