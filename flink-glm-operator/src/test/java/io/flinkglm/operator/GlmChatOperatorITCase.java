package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.records.ChatMessage;
import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Origin;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Task;
import io.flinkglm.records.ToolResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** The chat operator on a MiniCluster: answers, per-conversation order, backpressure and errors. */
class GlmChatOperatorITCase {
    private static final int PARALLELISM = 2;

    @RegisterExtension
    static final MiniClusterExtension FLINK = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(PARALLELISM)
            .build());

    private static Configuration glm;

    @BeforeAll
    static void model(@TempDir Path dir) {
        glm = TinyGlm.write(dir, 11);
    }

    @Test
    void multiTurnConversationsAnswerAsTheEngineAloneWould() throws Exception {
        List<ChatInput> inputs = TinyGlm.conversations("multi", 12, 3);

        ChatJob job = ChatJob.run(inputs, glm, PARALLELISM);

        assertThat(job.errors()).isEmpty();
        assertThat(answers(job.completions())).isEqualTo(expected(glm, inputs));
    }

    @Test
    void eachConversationsTurnsAreAnsweredInOrderAndEachPromptHoldsThePreviousReply() throws Exception {
        List<ChatInput> inputs = TinyGlm.conversations("order", 12, 3);

        ChatJob job = ChatJob.run(inputs, glm, PARALLELISM);

        Map<String, List<Completion>> byConversation = job.completions().stream()
                .collect(Collectors.groupingBy(Completion::conversationId));
        assertThat(byConversation).hasSize(12);
        byConversation.forEach((conversation, turns) -> {
            assertThat(turns).extracting(Completion::requestId)
                    .containsExactly(conversation + "/0", conversation + "/1", conversation + "/2");
            for (int i = 1; i < turns.size(); i++) {
                Completion previous = turns.get(i - 1);
                assertThat(turns.get(i).promptTokens()).as("prompt of %s", turns.get(i).requestId())
                        .isGreaterThan(previous.promptTokens() + previous.completionTokens());
            }
        });
    }

    @Test
    void inFlightTurnsStayAtTheCapacityAndEveryTurnIsAnswered() throws Exception {
        Configuration narrow = new Configuration(glm);
        narrow.set(GlmOptions.CAPACITY, 2);
        List<ChatInput> inputs = TinyGlm.conversations("narrow", 24, 2);

        ChatJob job = ChatJob.run(inputs, narrow, PARALLELISM);

        assertThat(job.accumulator(GlmChatOperator.MAX_IN_FLIGHT)).isEqualTo(2);
        // Every turn answered, and answered right: results handled while processElement yielded did
        // not leave the next state access on another conversation's key.
        assertThat(answers(job.completions())).isEqualTo(expected(glm, inputs));
    }

    @Test
    void malformedInputsAreOneErrorEachAndTheTurnsAroundThemAreAnswered() throws Exception {
        List<ChatInput> inputs = new ArrayList<>(TinyGlm.conversations("ok", 4, 1));
        inputs.add(ChatInput.of(new Prompt("bad-both", "ok-1", null, "text",
                List.of(new ChatMessage("user", "and messages", null)), null, null, null, Task.CHAT)));
        inputs.add(ChatInput.of(new ToolResult("ok-2", "call-that-never-was", "{}")));
        inputs.addAll(TinyGlm.turn("ok", 4, 1));
        readFromATopic(inputs);

        ChatJob job = ChatJob.run(inputs, glm, PARALLELISM);

        assertThat(job.errors()).extracting(DeadLetter::reason).satisfiesExactlyInAnyOrder(
                reason -> assertThat(reason).contains("both text and messages"),
                reason -> assertThat(reason).contains("call-that-never-was").contains("answers no pending call"));
        assertThat(job.errors()).extracting(d -> new String(d.original(), StandardCharsets.UTF_8))
                .containsExactlyInAnyOrder("bad-both", "call-that-never-was");
        assertThat(job.errors()).allSatisfy(d -> assertThat(d.topic()).isEqualTo("chat-inputs"));
        assertThat(answers(job.completions())).isEqualTo(expected(glm, inputs));
    }

    @Test
    void aTurnPastItsTimeoutIsOneErrorAndEveryOtherInputStillGetsItsOneOutcome() throws Exception {
        Configuration hasty = new Configuration(glm);
        hasty.set(GlmOptions.REQUEST_TIMEOUT, Duration.ofMillis(1));
        List<ChatInput> inputs = new ArrayList<>(TinyGlm.conversations("hasty", 3, 1));
        // A thousand sequential decode steps cannot finish within a millisecond.
        inputs.add(1, ChatInput.of(TinyGlm.prompt("slow/0", "slow", "a long story please", 1000)));
        inputs.addAll(TinyGlm.turn("hasty", 3, 1));
        readFromATopic(inputs);

        ChatJob job = ChatJob.run(inputs, hasty, PARALLELISM);

        List<String> erred = job.errors().stream()
                .map(d -> new String(d.original(), StandardCharsets.UTF_8)).toList();
        assertThat(job.errors()).filteredOn(d -> new String(d.original(), StandardCharsets.UTF_8).equals("slow/0"))
                .singleElement().satisfies(d -> assertThat(d.reason()).startsWith("timeout: ")
                        .contains(GlmOptions.REQUEST_TIMEOUT.key()));
        // Every other turn either made it in time or timed out, exactly once, and the job ran to its end.
        List<String> outcomes = new ArrayList<>(job.completions().stream().map(Completion::requestId).toList());
        outcomes.addAll(erred);
        assertThat(outcomes).containsExactlyInAnyOrderElementsOf(inputs.stream().map(ChatInput::id).toList());
    }

    /** Gives each input the origin a Kafka source would: a topic, an offset and, as its bytes, its id. */
    private static void readFromATopic(List<ChatInput> inputs) {
        for (int i = 0; i < inputs.size(); i++) {
            inputs.get(i).origin = new Origin("chat-inputs", 0, i, inputs.get(i).id().getBytes(StandardCharsets.UTF_8));
        }
    }

    static Map<String, ReferenceChat.Reply> expected(Configuration glm, List<ChatInput> inputs) throws Exception {
        try (ReferenceChat reference = new ReferenceChat(glm)) {
            return expected(reference.answer(inputs), inputs);
        }
    }

    /** The replies to {@code inputs} among a reference run's answers. */
    static Map<String, ReferenceChat.Reply> expected(Map<String, ReferenceChat.Answer> answers, List<ChatInput> inputs) {
        return inputs.stream().map(ChatInput::id).filter(answers::containsKey)
                .collect(Collectors.toMap(id -> id, id -> answers.get(id).reply()));
    }

    /** What of a completion the engine alone would reproduce (not its latencies). By request id. */
    static Map<String, ReferenceChat.Reply> answers(List<Completion> completions) {
        return completions.stream().collect(Collectors.toMap(Completion::requestId, ReferenceChat.Reply::of,
                (a, b) -> {
                    throw new AssertionError("answered twice: " + a + " and " + b);
                }));
    }
}
