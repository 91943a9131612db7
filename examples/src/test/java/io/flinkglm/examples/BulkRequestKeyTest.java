package io.flinkglm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.records.Completion;
import io.flinkglm.records.FinishReason;
import io.flinkglm.records.Sourced;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Task;
import io.flinkglm.operator.ChatInput;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BulkRequestKeyTest {

    @ParameterizedTest
    @CsvSource({"req-1, conv-1", "12:ab, 3:cd", "r, ''", "'', c", "7, 7"})
    void eachPromptIsItsOwnConversationAndItsRealConversationIdComesBack(String requestId, String conversationId) {
        Prompt prompt = new Prompt(requestId, conversationId, null, "hi", null, null, null, null, Task.COMPLETE);

        ChatInput input = BulkInferenceJob.RequestKey.ownConversation(Sourced.unsourced(prompt));
        Completion answer = BulkInferenceJob.RequestKey.restore(
                Completion.builder(requestId, input.conversationId()).text("x", FinishReason.STOP).build());

        assertThat(input.conversationId()).isNotEqualTo(
                BulkInferenceJob.RequestKey.ownConversation(Sourced.unsourced(new Prompt(requestId + "x", conversationId,
                        null, "hi", null, null, null, null, Task.COMPLETE))).conversationId());
        assertThat(input.prompt.requestId()).isEqualTo(requestId);
        assertThat(answer.conversationId()).isEqualTo(conversationId);
    }
}
