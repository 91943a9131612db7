package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.FinishReason;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SamplingOverrides;
import io.flinkglm.records.Task;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import io.flinkglm.runtime.tokenizer.SyntheticTokenizer;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The conversation core without a cluster: every way one input can be unservable is a rejection with
 * its stage and reason, never an exception, and a served turn moves the conversation on.
 */
class ConversationCoreTest {
    private static final int CONTEXT = 1024;
    private static final String WEATHER_TOOL = "[{\"type\": \"function\", \"function\": {\"name\": \"get_weather\","
            + " \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}}}}]";

    private static Glm4Tokenizer tokenizer;
    private static Configuration config;
    private static ConversationCore core;

    @BeforeAll
    static void core(@TempDir Path dir) throws Exception {
        tokenizer = Glm4Tokenizer.load(SyntheticTokenizer.write(dir, 1024));
        config = new Configuration();
        config.set(GlmOptions.MAX_TOKENS_LIMIT, 20);
        core = new ConversationCore(tokenizer, List.of(), CONTEXT, config);
    }

    static Stream<Arguments> poisonSampling() {
        return Stream.of(
                Arguments.of(new SamplingOverrides(null, null, null, 0, null), "sampling.max_tokens"),
                Arguments.of(new SamplingOverrides(null, null, null, -5, null), "sampling.max_tokens"),
                Arguments.of(new SamplingOverrides(-1.0, null, null, null, null), "sampling.temperature"),
                Arguments.of(new SamplingOverrides(Double.NaN, null, null, null, null), "sampling.temperature"),
                Arguments.of(new SamplingOverrides(Double.POSITIVE_INFINITY, null, null, null, null), "sampling.temperature"),
                Arguments.of(new SamplingOverrides(null, 5.0, null, null, null), "sampling.top_p"),
                Arguments.of(new SamplingOverrides(null, 0.0, null, null, null), "sampling.top_p"),
                Arguments.of(new SamplingOverrides(null, Double.NaN, null, null, null), "sampling.top_p"),
                Arguments.of(new SamplingOverrides(null, null, -5, null, null), "sampling.top_k"));
    }

    @ParameterizedTest
    @MethodSource("poisonSampling")
    void outOfRangeSamplingIsARejectionNamingTheField(SamplingOverrides sampling, String field) {
        TurnPlan plan = core.plan(new ConversationState(), chat("hi", sampling, null, null));

        assertThat(plan).isInstanceOfSatisfying(Rejection.class, r -> {
            assertThat(r.stage()).isEqualTo(DeadLetter.Stage.PLAN);
            assertThat(r.reason()).startsWith("invalid_sampling: ").contains(field);
        });
    }

    @Test
    void maxTokensIsCappedByTheJobLimitAndByTheContextLeft() {
        Turn huge = (Turn) core.plan(new ConversationState(),
                chat("hi", new SamplingOverrides(null, null, null, Integer.MAX_VALUE, null), null, null));
        int promptLength = huge.promptTokens().length;
        Configuration wholeContext = new Configuration(config); // the window may use the whole context
        wholeContext.set(GlmOptions.MAX_CONTEXT_TOKENS, promptLength + 5);
        ConversationCore smallContext = new ConversationCore(tokenizer, List.of(), promptLength + 5, wholeContext);
        Turn nearlyFull = (Turn) smallContext.plan(new ConversationState(),
                chat("hi", new SamplingOverrides(null, null, null, 1000, null), null, null));

        assertThat(huge.sampling().maxTokens()).isEqualTo(20);
        assertThat(nearlyFull.sampling().maxTokens()).isEqualTo(5);
    }

    @Test
    void aPromptThatFillsTheContextIsARejection() {
        TurnPlan plan = core.plan(new ConversationState(), chat("word ".repeat(CONTEXT), null, null, null));

        assertThat(plan).isInstanceOfSatisfying(Rejection.class,
                r -> assertThat(r.reason()).startsWith("context_exceeded: ")
                        .contains("window of " + (CONTEXT - 20)).contains("glm.conversation.max-context-tokens"));
    }

    @Test
    void aToolChoiceNamingAFunctionNotOfferedIsRejectedBeforeGeneration() {
        TurnPlan unknown = core.plan(new ConversationState(), chat("weather?", null, WEATHER_TOOL, "get_stock_price"));
        TurnPlan noTools = core.plan(new ConversationState(), chat("weather?", null, null, "get_weather"));
        TurnPlan offered = core.plan(new ConversationState(), chat("weather?", null, WEATHER_TOOL, "get_weather"));

        assertThat(unknown).isInstanceOfSatisfying(Rejection.class, r -> assertThat(r.reason())
                .startsWith("invalid_tool_choice: ").contains("get_stock_price").contains("get_weather"));
        assertThat(noTools).isInstanceOfSatisfying(Rejection.class,
                r -> assertThat(r.reason()).contains("no functions"));
        assertThat(offered).isInstanceOf(Turn.class);
    }

    @Test
    void toolsThatAreNotAJsonArrayOfDefinitionsAreRejected() {
        assertThat(core.plan(new ConversationState(), chat("hi", null, "{not json", null)))
                .isInstanceOfSatisfying(Rejection.class, r -> assertThat(r.reason()).startsWith("invalid_messages: "));
        assertThat(core.plan(new ConversationState(), chat("hi", null, "{\"type\": \"function\"}", null)))
                .isInstanceOfSatisfying(Rejection.class, r -> assertThat(r.reason()).contains("array"));
        assertThat(core.plan(new ConversationState(), chat("hi", null, "[{\"type\": \"spaceship\"}]", null)))
                .isInstanceOfSatisfying(Rejection.class, r -> assertThat(r.reason()).startsWith("invalid_tools: "));
    }

    @Test
    void aStoppedTurnBecomesACompletionAndExtendsTheConversation() {
        ConversationState before = new ConversationState();
        Turn turn = (Turn) core.plan(before, chat("hi", null, null, null));
        int[] out = tokenizer.encode("hello there");
        int user = tokenizer.specialId("<|user|>");

        TurnOutcome outcome = core.complete(before, "c", turn, result(out, GenerationResult.FinishReason.STOP, user));

        assertThat(outcome.completion().text()).isEqualTo("hello there");
        assertThat(outcome.completion().finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(outcome.completion().completionTokens()).isEqualTo(out.length);
        assertThat(outcome.state().tokens).hasSize(turn.promptTokens().length + out.length + 1).endsWith(user);
        assertThat(outcome.state().generations).isEqualTo(1);
        assertThat(before.generations).as("the input state is not changed").isZero();
    }

    @Test
    void aTurnCutAtItsLimitEndsWithLength() {
        Turn turn = (Turn) core.plan(new ConversationState(), chat("hi", null, null, null));

        TurnOutcome outcome = core.complete(new ConversationState(), "c", turn,
                result(tokenizer.encode("cut"), GenerationResult.FinishReason.LENGTH, -1));

        assertThat(outcome.completion().finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void aReplyThatCannotBeDecodedIsARejectionNotAnException() {
        Turn turn = (Turn) core.plan(new ConversationState(), chat("hi", null, null, null));

        TurnOutcome outcome = core.complete(new ConversationState(), "c", turn,
                result(new int[] {-7}, GenerationResult.FinishReason.STOP, -1));

        assertThat(outcome.rejection().stage()).isEqualTo(DeadLetter.Stage.REPLY);
        assertThat(outcome.state()).as("the conversation stays as it was").isNull();
    }

    @Test
    void unfinishedGenerationsAreRejectionsOfTheGenerateStage() {
        Turn turn = (Turn) core.plan(new ConversationState(), chat("hi", null, null, null));

        TurnOutcome late = core.complete(new ConversationState(), "c", turn, result(new int[0], GenerationResult.FinishReason.DEADLINE, -1));
        TurnOutcome failed = core.complete(new ConversationState(), "c", turn, new GenerationResult("r", new int[0],
                GenerationResult.FinishReason.ERROR, -1, "non-finite logits at position 3", 3, 0, 3,
                new GenerationResult.Timings(0, 0, 0), null, null, null));

        assertThat(late.rejection().stage()).isEqualTo(DeadLetter.Stage.GENERATE);
        assertThat(late.rejection().reason()).startsWith("timeout: ").contains(GlmOptions.REQUEST_TIMEOUT.key());
        assertThat(failed.rejection().reason()).isEqualTo("generation_failed: ERROR: non-finite logits at position 3");
    }

    @Test
    void aTurnModerationStoppedIsACompletionWithoutTextAndIsNotKept() {
        ConversationState before = new ConversationState();
        Turn turn = (Turn) core.plan(before, chat("hi", null, null, null));

        TurnOutcome outcome = core.complete(before, "c", turn,
                result(tokenizer.encode("something the policy flags"), GenerationResult.FinishReason.CONTENT_FILTER, -1));

        assertThat(outcome.completion().finishReason()).isEqualTo(FinishReason.CONTENT_FILTER);
        assertThat(outcome.completion().text()).isNull();
        assertThat(outcome.completion().completionTokens()).isEqualTo(tokenizer.encode("something the policy flags").length);
        assertThat(outcome.state()).as("the conversation stays as it was").isNull();
        assertThat(outcome.kv()).isNull();
    }

    @Test
    void aCallOfAFunctionTheToolsDoNotOfferIsRejectedAndNotKept() {
        ConversationState before = new ConversationState();
        Turn turn = (Turn) core.plan(before, chat("weather?", null, WEATHER_TOOL, null));
        int observation = tokenizer.specialId("<|observation|>");

        TurnOutcome outcome = core.complete(before, "c", turn,
                result(tokenizer.encode("launch_rocket\n{\"target\": \"moon\"}"), GenerationResult.FinishReason.STOP, observation));

        assertThat(outcome.rejection().stage()).isEqualTo(DeadLetter.Stage.FUNCTION_CALL);
        assertThat(outcome.rejection().reason()).startsWith("invalid_function_call: ").contains("launch_rocket");
        assertThat(outcome.state()).isNull();
    }

    @Test
    void aValidCallBecomesAFunctionCallAndWaitsForItsResult() {
        ConversationState before = new ConversationState();
        Turn turn = (Turn) core.plan(before, chat("weather?", null, WEATHER_TOOL, null));
        int observation = tokenizer.specialId("<|observation|>");

        TurnOutcome outcome = core.complete(before, "c", turn,
                result(tokenizer.encode("get_weather\n{\"city\": \"Paris\"}"), GenerationResult.FinishReason.STOP, observation));

        assertThat(outcome.call().name()).isEqualTo("get_weather");
        assertThat(outcome.call().argumentsJson()).isEqualTo("{\"city\":\"Paris\"}");
        assertThat(outcome.state().pendingCallId).isEqualTo(outcome.call().callId());
        assertThat(outcome.state().toolsJson).isEqualTo(WEATHER_TOOL);
    }

    private static ChatInput chat(String text, SamplingOverrides sampling, String tools, String toolChoice) {
        return ChatInput.of(new Prompt("r", "c", null, text, null, tools, sampling, toolChoice, Task.CHAT));
    }

    private static GenerationResult result(int[] out, GenerationResult.FinishReason reason, int stopToken) {
        return new GenerationResult("r", out, reason, stopToken, null, 5, 0, 5,
                new GenerationResult.Timings(1_000_000, 2_000_000, 3_000_000), null, null, null);
    }
}
