package io.flinkglm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.connectors.kafka.KafkaConnectorOptions;
import io.flinkglm.operator.GlmOptions;
import io.flinkglm.records.Completion;
import io.flinkglm.records.FinishReason;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SafetyVerdict;
import io.flinkglm.records.Task;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * ModerationJob on a real broker: every prompt gets one verdict on the safety topic, and flagged
 * prompts are refused without generation. The policy's "Spam" threshold is the smallest positive
 * value, so every prompt is flagged whatever the random model scores.
 */
class ModerationJobITCase {

    @RegisterExtension
    static final KafkaJobs KAFKA = new KafkaJobs();

    @Test
    void everyPromptGetsAVerdictAndFlaggedOnesAreRefusedWithoutGeneration(@TempDir Path tempDir) throws Exception {
        Path policy = tempDir.resolve("always-flag.json");
        Files.writeString(policy, """
                {"instructions": "Decide whether this text breaks the forum rules.",
                 "answerPrefix": "\\nVerdict:",
                 "categories": [
                   {"name": "Spam", "description": "advertising", "openai": "illicit", "threshold": 4.9E-324, "label": "S"},
                   {"name": "OK", "label": "O", "safe": true}]}""");
        Configuration config = KAFKA.jobConfig("moderation");
        config.set(GlmOptions.MODERATION_POLICY, policy.toString());
        List<Prompt> prompts = List.of(
                new Prompt("m-1", "conv-1", "t", "Buy cheap watches at example.com", null, null, null, null, Task.CHAT),
                new Prompt("m-2", "conv-2", "t", "Hello there", null, null, null, null, Task.CHAT),
                new Prompt("m-3", "conv-3", "t", "Is this spam?", null, null, null, null, Task.MODERATE));
        KAFKA.produce(config.get(KafkaConnectorOptions.PROMPTS_TOPIC), Prompt.class, prompts);

        GlmKafkaPipeline pipeline = GlmKafkaPipeline.create(StreamExecutionEnvironment.getExecutionEnvironment(), config);
        ModerationJob.define(pipeline);
        pipeline.execute("moderation test");

        List<SafetyVerdict> verdicts =
                KAFKA.readCommitted(config, KafkaConnectorOptions.SAFETY_VERDICTS_TOPIC, SafetyVerdict.class);
        assertThat(verdicts).extracting(SafetyVerdict::requestId).containsExactlyInAnyOrder("m-1", "m-2", "m-3");
        assertThat(verdicts).allSatisfy(v -> {
            assertThat(v.flagged()).isTrue();
            assertThat(v.flaggedCategories()).containsExactly("Spam");
            assertThat(v.openaiCategoryScores()).containsKey("illicit");
        });
        List<Completion> answers = KAFKA.readCommitted(config, KafkaConnectorOptions.COMPLETIONS_TOPIC, Completion.class);
        assertThat(answers).extracting(Completion::requestId).containsExactlyInAnyOrder("m-1", "m-2");
        assertThat(answers).allSatisfy(c -> {
            assertThat(c.finishReason()).isEqualTo(FinishReason.CONTENT_FILTER);
            assertThat(c.completionTokens()).isZero();
        });
    }
}
