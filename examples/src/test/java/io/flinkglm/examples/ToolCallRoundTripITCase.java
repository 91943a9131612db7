package io.flinkglm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.connectors.kafka.KafkaConnectorOptions;
import io.flinkglm.operator.GlmOptions;
import io.flinkglm.records.Completion;
import io.flinkglm.records.FinishReason;
import io.flinkglm.records.FunctionCall;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Task;
import io.flinkglm.records.ToolResult;
import io.flinkglm.runtime.testing.ScriptedCheckpoint;
import io.flinkglm.testkit.Await;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The function-calling loop as an application sees it, through Kafka: a prompt with tools goes in,
 * a typed FunctionCall comes out on its topic, the application answers it on the tool-results topic,
 * and the conversation's final answer comes out on the completions topic. The model is a scripted
 * checkpoint (real weights, real forward pass): forced prefix {@code get_weather\n} → "{}" →
 * {@code <|observation|>}, and {@code <|assistant|>} → "OK" → {@code <|user|>}.
 */
class ToolCallRoundTripITCase {

    @RegisterExtension
    static final KafkaJobs KAFKA = new KafkaJobs();

    @TempDir
    static Path tempDir;
    private static Path scripted;

    @BeforeAll
    static void writeScriptedModel() throws Exception {
        scripted = tempDir.resolve("scripted");
        ScriptedCheckpoint.writeToolCaller(scripted, "get_weather", "{}", "OK");
    }

    @Test
    void aCallGoesOutItsResultComesBackAndTheConversationAnswers() throws Exception {
        Configuration config = KAFKA.jobConfig("round-trip");
        config.set(GlmOptions.MODEL_PATH, scripted.toString());
        config.set(JobOptions.BOUNDED, false); // the tool result is produced while the job runs
        KAFKA.produce(config.get(KafkaConnectorOptions.PROMPTS_TOPIC), Prompt.class, List.of(new Prompt(
                "w-1", "conv-w", "t", "What's the weather in Beijing?", null, KafkaJobs.WEATHER_TOOLS, null,
                "get_weather", Task.CHAT)));
        GlmKafkaPipeline pipeline = GlmKafkaPipeline.create(StreamExecutionEnvironment.getExecutionEnvironment(), config);
        ChatWithToolsJob.define(pipeline);
        JobClient job = pipeline.executeAsync("tool call round trip");
        try {
            List<FunctionCall> calls = Await.value("the function call", () -> nonEmpty(
                    KAFKA.readCommitted(config, KafkaConnectorOptions.FUNCTION_CALLS_TOPIC, FunctionCall.class)));
            assertThat(calls).singleElement().satisfies(call -> {
                assertThat(call.requestId()).isEqualTo("w-1");
                assertThat(call.name()).isEqualTo("get_weather");
                assertThat(call.argumentsJson()).isEqualTo("{}");
            });

            KAFKA.produce(config.get(KafkaConnectorOptions.TOOL_RESULTS_TOPIC), ToolResult.class,
                    List.of(new ToolResult("conv-w", calls.get(0).callId(), "{\"temperature_c\": 25}")));
            List<Completion> answers = Await.value("the final answer", () -> nonEmpty(
                    KAFKA.readCommitted(config, KafkaConnectorOptions.COMPLETIONS_TOPIC, Completion.class)));

            assertThat(answers).singleElement().satisfies(answer -> {
                assertThat(answer.requestId()).isEqualTo("w-1");
                assertThat(answer.text()).isEqualTo("OK");
                assertThat(answer.finishReason()).isEqualTo(FinishReason.STOP);
            });
        } finally {
            job.cancel().get();
        }
    }

    /** The exactly-once sink makes records visible at checkpoints: none yet is no answer yet. */
    private static <T> Optional<List<T>> nonEmpty(List<T> records) {
        return records.isEmpty() ? Optional.empty() : Optional.of(records);
    }
}
