package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.records.Prompt;
import io.flinkglm.records.Task;
import io.flinkglm.records.ToolResult;
import io.flinkglm.runtime.chat.ChatMessage;
import io.flinkglm.runtime.chat.ChatTemplate;
import io.flinkglm.runtime.chat.Conversation;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import io.flinkglm.runtime.tokenizer.SyntheticTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Conversations that outgrow a 512-token context, 300 turns long, through the pure core: every policy
 * keeps answering, and a cut context is exactly the chat template's rendering of the kept messages.
 */
class ContextWindowTest {
    private static final int CONTEXT = 512;
    private static final int MAX_TOKENS = 16;
    private static final String TOOLS = "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\","
            + " \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}}}]";

    private static Glm4Tokenizer tokenizer;

    @BeforeAll
    static void tokenizer(@TempDir Path dir) throws Exception {
        tokenizer = Glm4Tokenizer.load(SyntheticTokenizer.write(dir, 1024));
    }

    @Test
    void truncateOldestKeepsAnsweringAndItsPromptIsTheRenderingOfTheKeptMessages() {
        ConversationCore core = core(GlmOptions.ContextOverflow.TRUNCATE_OLDEST);
        ConversationState state = new ConversationState();
        int cuts = 0;
        for (int t = 0; t < 300; t++) {
            TurnPlan plan = core.plan(state, prompt(t, t == 0 ? TOOLS : null));
            assertThat(plan).as("turn %d", t).isInstanceOf(Turn.class);
            Turn turn = (Turn) plan;
            assertThat(turn.promptTokens().length).isLessThanOrEqualTo(CONTEXT - MAX_TOKENS);
            if (turn.context().changed()) {
                cuts++;
                assertThat(turn.context().turnsDropped()).isPositive();
                assertThat(turn.promptTokens()).as("turn %d: the rendering of the kept messages", t)
                        .containsExactly(render(turn.context().keptHistoryJson(), state.toolsJson, turn.newMessages()));
                assertThat(turn.context().keptHistoryJson()).as("the system messages stay: the tools' and the caller's")
                        .startsWith("[{\"role\":\"system\",\"content\":null},{\"role\":\"system\",\"content\":\"You are terse.\"}");
            }
            TurnOutcome outcome = core.complete(state, "c", turn, reply("answer " + t));
            assertThat(outcome.completion().contextTurnsDropped()).isEqualTo(turn.context().turnsDropped());
            state = outcome.state();
        }
        assertThat(cuts).as("turns whose history was cut").isGreaterThan(100);
        assertThat(state.toolsJson).as("the tools stay with the conversation").isEqualTo(TOOLS);
    }

    @Test
    void theSameHistoryAndTurnAlwaysGiveTheSameCut() {
        ConversationCore core = core(GlmOptions.ContextOverflow.TRUNCATE_OLDEST);
        ConversationState state = new ConversationState();
        for (int t = 0; t < 60; t++) {
            Turn turn = (Turn) core.plan(state, prompt(t, null));
            Turn again = (Turn) core(GlmOptions.ContextOverflow.TRUNCATE_OLDEST).plan(state.copy(), prompt(t, null));
            assertThat(again.promptTokens()).containsExactly(turn.promptTokens());
            assertThat(again.context()).isEqualTo(turn.context());
            state = core.complete(state, "c", turn, reply("answer " + t)).state();
        }
    }

    @Test
    void rejectLeavesTheConversationAsItWasOnceItIsFull() {
        ConversationCore core = core(GlmOptions.ContextOverflow.REJECT);
        ConversationState state = new ConversationState();
        int rejected = 0;
        for (int t = 0; t < 300; t++) {
            TurnPlan plan = core.plan(state, prompt(t, null));
            if (plan instanceof Rejection r) {
                rejected++;
                assertThat(r.reason()).startsWith("context_exceeded: ").contains("REJECT");
                continue; // the state stays as it was
            }
            state = core.complete(state, "c", (Turn) plan, reply("answer " + t)).state();
        }
        assertThat(rejected).isGreaterThan(200);
    }

    @Test
    void resetStartsOverFromTheSystemMessageAndSaysSo() {
        ConversationCore core = core(GlmOptions.ContextOverflow.RESET);
        ConversationState state = new ConversationState();
        int resets = 0;
        for (int t = 0; t < 300; t++) {
            Turn turn = (Turn) core.plan(state, prompt(t, null));
            if (turn.context().reset()) {
                resets++;
                assertThat(turn.context().keptHistoryJson()).isEqualTo("[{\"role\":\"system\",\"content\":\"You are terse.\"}]");
            }
            TurnOutcome outcome = core.complete(state, "c", turn, reply("answer " + t));
            assertThat(outcome.completion().contextReset()).isEqualTo(turn.context().reset());
            state = outcome.state();
        }
        assertThat(resets).isGreaterThan(5);
    }

    @Test
    void aTurnThatAloneExceedsTheWindowIsARejectionUnderEveryPolicy() {
        for (GlmOptions.ContextOverflow policy : GlmOptions.ContextOverflow.values()) {
            ConversationCore core = core(policy);
            ConversationState state = core.complete(new ConversationState(), "c",
                    (Turn) core.plan(new ConversationState(), prompt(0, null)), reply("hi")).state();
            Prompt huge = new Prompt("big", "c", null, "word ".repeat(CONTEXT), null, null, null, null, Task.CHAT);

            assertThat(core.plan(state, ChatInput.of(huge))).as("%s", policy)
                    .isInstanceOfSatisfying(Rejection.class, r -> assertThat(r.reason()).startsWith("context_exceeded: "));
        }
    }

    @Test
    void aToolResultKeepsItsOwnTurnWhenOlderTurnsAreCut() {
        ConversationCore core = core(GlmOptions.ContextOverflow.TRUNCATE_OLDEST);
        ConversationState state = new ConversationState();
        for (int t = 0; t < 40; t++) {
            Turn turn = (Turn) core.plan(state, prompt(t, t == 0 ? TOOLS : null));
            state = core.complete(state, "c", turn, reply("answer " + t)).state();
        }
        Turn asks = (Turn) core.plan(state, prompt(40, null));
        int observation = tokenizer.specialId("<|observation|>");
        TurnOutcome call = core.complete(state, "c", asks, new GenerationResult("r", tokenizer.encode("get_weather\n{\"city\": \"Oslo\"}"),
                GenerationResult.FinishReason.STOP, observation, null, 5, 0, 5, new GenerationResult.Timings(0, 0, 0), null, null, null));
        state = call.state();
        ToolResult result = new ToolResult("c", state.pendingCallId, "{\"temp\": " + "-3 ".repeat(25) + "}");

        TurnPlan plan = core.plan(state, ChatInput.of(result));
        assertThat(plan).as("%s", plan).isInstanceOf(Turn.class);
        Turn answer = (Turn) plan;

        assertThat(answer.context().changed()).isTrue();
        List<ChatMessage> kept = Conversation.fromJson(answer.context().keptHistoryJson()).messages();
        assertThat(kept.get(kept.size() - 1).metadata()).as("the call it answers stays").isEqualTo("get_weather");
        assertThat(kept.get(kept.size() - 2).content()).isEqualTo(prompt(40, null).prompt.messages().get(0).content());
    }

    private static ConversationCore core(GlmOptions.ContextOverflow policy) {
        Configuration config = new Configuration();
        config.set(GlmOptions.MAX_TOKENS, MAX_TOKENS);
        config.set(GlmOptions.CONTEXT_OVERFLOW, policy);
        return new ConversationCore(tokenizer, List.of(), CONTEXT, config);
    }

    /** Turn t: a system message and a user message of a few dozen tokens. */
    private static ChatInput prompt(int t, String tools) {
        List<io.flinkglm.records.ChatMessage> messages = new ArrayList<>();
        if (t == 0) {
            messages.add(new io.flinkglm.records.ChatMessage("system", "You are terse.", null));
        }
        messages.add(new io.flinkglm.records.ChatMessage("user", "question " + t + ": " + "tell me more ".repeat(3 + t % 5), null));
        return ChatInput.of(new Prompt("r" + t, "c", null, null, messages, tools, null, null, Task.CHAT));
    }

    private static GenerationResult reply(String text) {
        return new GenerationResult("r", tokenizer.encode(text), GenerationResult.FinishReason.STOP,
                tokenizer.specialId("<|user|>"), null, 5, 0, 5, new GenerationResult.Timings(0, 0, 0), null, null, null);
    }

    /** An independent rendering: the kept messages from their JSON, the tools on the first system message. */
    private static int[] render(String keptJson, String tools, List<ChatMessage> newMessages) {
        String withTools = "{\"messages\": " + keptJson + (tools != null ? ", \"tools\": " + tools : "") + "}";
        List<ChatMessage> all = new ArrayList<>(Conversation.fromJson(withTools).messages());
        if (tools != null) {
            all.remove(1); // the kept history's own placeholder for the tools message
        }
        all.addAll(newMessages);
        return ChatTemplate.encode(tokenizer, all, true);
    }
}
