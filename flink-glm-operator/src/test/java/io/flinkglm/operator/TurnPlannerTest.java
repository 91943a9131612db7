package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.records.ChatMessage;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Task;
import io.flinkglm.records.ToolResult;
import io.flinkglm.runtime.chat.ChatTemplate;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import io.flinkglm.runtime.tokenizer.SyntheticTokenizer;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

/** How a conversation's turns become prompt tokens and seeds. */
class TurnPlannerTest {
    private static Glm4Tokenizer tokenizer;
    private static TurnPlanner planner;
    private static int user;

    @BeforeAll
    static void tokenizer(@TempDir Path dir) throws Exception {
        tokenizer = Glm4Tokenizer.load(SyntheticTokenizer.write(dir, 1024));
        planner = new TurnPlanner(tokenizer, List.of(), 4096, new Configuration());
        user = tokenizer.specialId("<|user|>");
    }

    @Test
    void aSecondTurnContinuesTheFirstPromptReplyAndStopTokenWithoutRepeatingTheRoleToken() throws Exception {
        ConversationState state = new ConversationState();
        int[] first = turn(state, ChatInput.of(TinyGlm.prompt("r1", "c", "hello there"))).promptTokens();
        int[] reply = {tokenizer.encode("hi")[0], tokenizer.encode("!")[0]};
        state.tokens = concat(first, reply, new int[] {user}); // the reply stopped at <|user|>
        state.generations = 1;

        int[] second = turn(state, ChatInput.of(TinyGlm.prompt("r2", "c", "and again"))).promptTokens();

        assertThat(first).startsWith(ChatTemplate.encode(tokenizer,
                List.of(io.flinkglm.runtime.chat.ChatMessage.user("hello there")), true));
        assertThat(second).startsWith(state.tokens);
        int[] rendered = ChatTemplate.encode(tokenizer,
                List.of(io.flinkglm.runtime.chat.ChatMessage.user("and again")), true);
        // [gMASK] <sop> <|user|> of the rendered turn are dropped: the context already ends with <|user|>.
        assertThat(Arrays.copyOfRange(second, state.tokens.length, second.length))
                .containsExactly(Arrays.copyOfRange(rendered, 3, rendered.length));
        assertThat(IntStream.of(second).filter(t -> t == user).count()).isEqualTo(2);
    }

    @Test
    void aReplyCutOffByLengthIsFollowedByTheNextTurnsRoleToken() throws Exception {
        ConversationState state = new ConversationState();
        int[] first = turn(state, ChatInput.of(TinyGlm.prompt("r1", "c", "hello"))).promptTokens();
        state.tokens = concat(first, tokenizer.encode("cut"), new int[0]); // no stop token: max tokens reached
        state.generations = 1;

        int[] second = turn(state, ChatInput.of(TinyGlm.prompt("r2", "c", "more"))).promptTokens();

        assertThat(second).startsWith(state.tokens);
        assertThat(second[state.tokens.length]).isEqualTo(user);
    }

    @Test
    void seedsAreStablePerRequestIdAndDifferPerRequestAndGeneration() throws Exception {
        ConversationState fresh = new ConversationState();
        ConversationState later = new ConversationState();
        later.tokens = new int[] {1, 2, 3};
        later.generations = 1;
        ChatInput input = ChatInput.of(TinyGlm.prompt("req-7", "c", "hello"));

        long seed = turn(fresh, input).sampling().seed();

        assertThat(turn(new ConversationState(), input).sampling().seed()).isEqualTo(seed);
        assertThat(TurnPlanner.seedOf("req-7")).isEqualTo(TurnPlanner.seedOf("req-7")).isEqualTo(seed);
        assertThat(turn(fresh, ChatInput.of(TinyGlm.prompt("req-8", "c", "hello"))).sampling().seed())
                .isNotEqualTo(seed);
        assertThat(turn(later, input).sampling().seed()).isNotEqualTo(seed);
    }

    @Test
    void aPromptWithBothTextAndMessagesIsInvalid() {
        Prompt both = new Prompt("r", "c", null, "text", List.of(new ChatMessage("user", "hi", null)),
                null, null, null, Task.CHAT);

        assertThat(planner.plan(new ConversationState(), ChatInput.of(both)))
                .isInstanceOfSatisfying(Rejection.class, r -> assertThat(r.reason())
                        .startsWith("invalid_prompt: ").contains("both text and messages"));
    }

    @Test
    void aToolResultForAnUnknownCallIsInvalid() {
        assertThat(planner.plan(new ConversationState(), ChatInput.of(new ToolResult("c", "call-9", "{}"))))
                .isInstanceOfSatisfying(Rejection.class, r -> assertThat(r.reason())
                        .contains("call-9").contains("none is pending"));
    }

    private static final String SCHEMA = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
            + "\"required\":[\"city\"],\"additionalProperties\":false}";

    private static io.flinkglm.records.Prompt withFormat(String responseFormat, String tools, String toolChoice) {
        return new io.flinkglm.records.Prompt("r1", "c", null, "weather?", null, tools, null, toolChoice,
                io.flinkglm.records.Task.CHAT, null, responseFormat);
    }

    @Test
    void aJsonSchemaResponseFormatConstrainsTheTurnAndNeverEndsItOnTheCallToken() {
        Turn t = turn(new ConversationState(), ChatInput.of(withFormat(
                "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"w\",\"schema\":" + SCHEMA + "}}", null, null)));

        assertThat(t.constraint()).isEqualTo(io.flinkglm.runtime.constraint.Constraint.jsonSchema(SCHEMA));
        assertThat(t.sampling().stopTokenIds()).doesNotContain(tokenizer.specialId("<|observation|>"));
        assertThat(turn(new ConversationState(), ChatInput.of(withFormat("{\"type\":\"json_object\"}", null, null)))
                .constraint().kind()).isEqualTo(io.flinkglm.runtime.constraint.Constraint.Kind.JSON_OBJECT);
    }

    @Test
    void anUnsupportedResponseFormatIsRejectedNamingTheKeyword() {
        TurnPlan plan = planner.plan(new ConversationState(), ChatInput.of(withFormat(
                "{\"type\":\"json_schema\",\"json_schema\":{\"schema\":{\"type\":\"number\",\"minimum\":1}}}", null, null)));

        assertThat(plan).isInstanceOf(Rejection.class);
        assertThat(((Rejection) plan).reason()).startsWith("invalid_response_format").contains("'minimum'");
    }

    @Test
    void requiredAndAutoConstrainACallToTheOfferedToolsAndKeepTheCallTokenAsItsOnlyEnd() {
        String tools = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":" + SCHEMA + "}}]";
        byte[] call = "get_weather\n{\"city\":\"Paris\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int observation = tokenizer.specialId("<|observation|>");

        Turn required = turn(new ConversationState(), ChatInput.of(withFormat(null, tools, "required")));
        Turn auto = turn(new ConversationState(), ChatInput.of(withFormat(null, tools, null)));

        for (Turn t : List.of(required, auto)) {
            assertThat(t.constraint().kind()).isEqualTo(io.flinkglm.runtime.constraint.Constraint.Kind.TOOL_CALL);
            assertThat(t.constraint().accepts(call)).isTrue();
            assertThat(t.sampling().stopTokenIds()).contains(observation);
        }
        assertThat(required.toolChoice().isRequired()).isTrue();
        assertThat(required.constraint().accepts("\nSunny.".getBytes(java.nio.charset.StandardCharsets.UTF_8))).isFalse();
        assertThat(auto.constraint().accepts("\nSunny.".getBytes(java.nio.charset.StandardCharsets.UTF_8))).isTrue();
    }

    @Test
    void requiredWithoutToolsAndAResponseFormatOfAnUnknownTypeAreRejectedNamingWhatIsWrong() {
        TurnPlan noTools = planner.plan(new ConversationState(), ChatInput.of(withFormat(null, null, "required")));
        TurnPlan badType = planner.plan(new ConversationState(), ChatInput.of(withFormat("{\"type\":\"xml\"}", null, null)));

        assertThat(((Rejection) noTools).reason()).startsWith("invalid_tool_choice").contains("offers no tools");
        assertThat(((Rejection) badType).reason()).startsWith("invalid_response_format").contains("response_format")
                .contains("'xml'");
    }

    @Test
    void aForcedFunctionCallConstrainsTheArgumentsToItsParametersSchema() {
        String tools = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":" + SCHEMA + "}}]";

        Turn t = turn(new ConversationState(), ChatInput.of(withFormat(null, tools, "get_weather")));

        assertThat(t.constraint()).isNotNull();
        assertThat(t.constraint().accepts("{\"city\":\"Paris\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8))).isTrue();
        assertThat(t.constraint().accepts("{\"town\":\"Paris\"}".getBytes(java.nio.charset.StandardCharsets.UTF_8))).isFalse();
    }

    private static Turn turn(ConversationState state, ChatInput input) {
        TurnPlan plan = planner.plan(state, input);
        assertThat(plan).isInstanceOf(Turn.class);
        return (Turn) plan;
    }

    private static int[] concat(int[]... parts) {
        int[] all = new int[0];
        for (int[] p : parts) {
            int n = all.length;
            all = Arrays.copyOf(all, n + p.length);
            System.arraycopy(p, 0, all, n, p.length);
        }
        return all;
    }
}
