package io.flinkglm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.connectors.kafka.KafkaConnectorOptions;
import io.flinkglm.records.ChatMessage;
import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.FunctionCall;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Task;
import io.flinkglm.records.ToolResult;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * ChatWithToolsJob on a real broker: a conversation's turns are answered in order on its growing history,
 * and a tool result that answers no pending call is a dead letter with the reason. (A random model does
 * not call functions on its own: {@link ToolCallRoundTripITCase} drives the call-and-answer round trip
 * with a scripted checkpoint.)
 */
class ChatWithToolsJobITCase {


    @RegisterExtension
    static final KafkaJobs KAFKA = new KafkaJobs();

    @Test
    void turnsAreAnsweredInOrderOnTheHistoryAndAToolResultForAnUnknownCallIsADeadLetter() throws Exception {
        Configuration config = KAFKA.jobConfig("chat");
        List<Prompt> prompts = List.of(
                chat("a-1", "conv-a", "Plan one day in Paris.", null),
                chat("b-1", "conv-b", "What is the weather in Beijing?", KafkaJobs.WEATHER_TOOLS),
                chat("a-2", "conv-a", "And if it rains?", null),
                chat("a-3", "conv-a", "Thanks!", null));
        KAFKA.produce(config.get(KafkaConnectorOptions.PROMPTS_TOPIC), Prompt.class, prompts);
        KAFKA.produce(config.get(KafkaConnectorOptions.TOOL_RESULTS_TOPIC), ToolResult.class,
                List.of(new ToolResult("conv-c", "call-that-never-was", "{\"temperature_c\": 18}")));

        GlmKafkaPipeline pipeline = GlmKafkaPipeline.create(StreamExecutionEnvironment.getExecutionEnvironment(), config);
        ChatWithToolsJob.define(pipeline);
        pipeline.execute("chat with tools test");

        List<Completion> answers = KAFKA.readCommitted(config, KafkaConnectorOptions.COMPLETIONS_TOPIC, Completion.class);
        List<FunctionCall> calls = KAFKA.readCommitted(config, KafkaConnectorOptions.FUNCTION_CALLS_TOPIC, FunctionCall.class);
        List<Completion> conversationA = answers.stream().filter(c -> c.conversationId().equals("conv-a")).toList();
        assertThat(conversationA).extracting(Completion::requestId).containsExactly("a-1", "a-2", "a-3");
        assertThat(conversationA).extracting(Completion::promptTokens).isSorted().doesNotHaveDuplicates();
        assertThat(answers.stream().map(Completion::requestId).filter("b-1"::equals).count()
                + calls.stream().map(FunctionCall::requestId).filter("b-1"::equals).count())
                .as("the prompt with tools is answered once, by text or by a call").isEqualTo(1);

        List<DeadLetter> dead = KAFKA.readCommitted(config, KafkaConnectorOptions.DEAD_LETTERS_TOPIC, DeadLetter.class);
        assertThat(dead).singleElement().satisfies(letter -> {
            assertThat(letter.reason()).contains("call-that-never-was").contains("answers no pending call");
            assertThat(letter.stage()).isEqualTo(DeadLetter.Stage.PLAN);
        });
    }

    private static Prompt chat(String requestId, String conversationId, String text, String tools) {
        return new Prompt(requestId, conversationId, "t", null, List.of(new ChatMessage("user", text, null)), tools,
                null, null, Task.CHAT);
    }
}
