package io.flinkglm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.connectors.kafka.KafkaConnectorOptions;
import io.flinkglm.records.ChatMessage;
import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Task;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** BulkInferenceJob on a real broker: every prompt answered exactly once, on its own, under its own ids. */
class BulkInferenceJobITCase {

    private static final int PROMPTS = 24;

    @RegisterExtension
    static final KafkaJobs KAFKA = new KafkaJobs();

    @Test
    void everyPromptIsAnsweredExactlyOnceUnderItsRequestAndConversationIds() throws Exception {
        Configuration config = KAFKA.jobConfig("bulk");
        // Three conversations of eight prompts each: bulk answers them independently, chat and complete alike.
        List<Prompt> prompts = IntStream.range(0, PROMPTS)
                .mapToObj(i -> i % 2 == 0
                        ? new Prompt("req-" + i, "conv-" + i % 3, "t", "Say " + i, null, null, null, null, Task.COMPLETE)
                        : new Prompt("req-" + i, "conv-" + i % 3, "t", null,
                                List.of(new ChatMessage("user", "Hello", null)), null, null, null, Task.CHAT))
                .toList();
        KAFKA.produce(config.get(KafkaConnectorOptions.PROMPTS_TOPIC), Prompt.class, prompts);

        GlmKafkaPipeline pipeline = GlmKafkaPipeline.create(StreamExecutionEnvironment.getExecutionEnvironment(), config);
        BulkInferenceJob.define(pipeline);
        pipeline.execute("bulk inference test");

        List<Completion> answers = KAFKA.readCommitted(config, KafkaConnectorOptions.COMPLETIONS_TOPIC, Completion.class);
        assertThat(answers).extracting(Completion::requestId)
                .containsExactlyInAnyOrderElementsOf(prompts.stream().map(Prompt::requestId).toList());
        Map<String, String> conversationByRequest =
                prompts.stream().collect(Collectors.toMap(Prompt::requestId, Prompt::conversationId));
        assertThat(answers).allSatisfy(answer -> {
            assertThat(answer.conversationId()).isEqualTo(conversationByRequest.get(answer.requestId()));
            assertThat(answer.completionTokens()).isPositive();
        });
        // No memory: every chat prompt is the same one message, so each has the same context whatever
        // came before it in its conversation.
        assertThat(answers.stream().filter(a -> a.requestId().matches("req-\\d*[13579]")).map(Completion::promptTokens)
                .distinct()).hasSize(1);
        assertThat(KAFKA.readCommitted(config, KafkaConnectorOptions.DEAD_LETTERS_TOPIC, DeadLetter.class)).isEmpty();
    }
}
