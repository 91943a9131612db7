package io.flinkglm.operator;

import io.flinkglm.records.Prompt;
import io.flinkglm.records.Task;
import io.flinkglm.records.ToolResult;
import io.flinkglm.runtime.testing.ScriptedCheckpoint;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The function-calling loop through the operator: a forced call comes out as a typed FunctionCall,
 * its ToolResult goes back in as an observation and the conversation continues to the answer; calls
 * the tools do not allow become error records with the raw text. The model is a scripted checkpoint
 * (real weights, real forward pass) whose greedy continuation is: forced prefix "get_weather\n" →
 * "{}" → {@code <|observation|>}, and {@code <|assistant|>} → "OK" → {@code <|user|>}.
 */
class ToolLoopITCase {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder().setNumberTaskManagers(1).setNumberSlotsPerTaskManager(2).build());

    private static final String WEATHER = """
            [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
              "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}]""";
    private static final String STRICT_WEATHER = WEATHER.replace("}}}}}]", "}}, \"required\": [\"location\"]}}}]");

    @TempDir
    static Path model;

    @BeforeAll
    static void writeScriptedModel() throws Exception {
        ScriptedCheckpoint.writeToolCaller(model, "get_weather", "{}", "OK");
    }

    @Test
    void callsGoOutResultsComeBackAndTheConversationReachesItsAnswer() throws Exception {
        List<ChatInput> inputs = List.of(
                ChatInput.of(prompt("r1", "c1", "What's the weather in Beijing?", WEATHER, "get_weather")),
                ChatInput.of(new ToolResult("c1", "r1-call-1", "{\"temperature\": 25}")),
                ChatInput.of(prompt("r2", "c1", "And tomorrow?", null, "get_weather")),
                ChatInput.of(new ToolResult("c1", "r2-call-3", "{\"temperature\": 21}")),
                ChatInput.of(prompt("r3", "c1", "Thanks", null, null)));

        List<String> out = run(inputs);

        assertThat(out).containsExactlyInAnyOrder(
                "call r1 c1 r1-call-1 get_weather {}",
                "completion r1 c1 OK STOP",
                "call r2 c1 r2-call-3 get_weather {}",
                "completion r2 c1 OK STOP",
                "completion r3 c1 OK STOP");
    }

    @Test
    void callsTheToolsDoNotAllowAndStrayResultsAreErrorsAndTheJobGoesOn() throws Exception {
        List<ChatInput> inputs = List.of(
                ChatInput.of(prompt("s1", "strict", "Weather?", STRICT_WEATHER, "get_weather")),
                ChatInput.of(prompt("u1", "unknown", "Time?", WEATHER, "get_time")),
                ChatInput.of(new ToolResult("nobody", "no-such-call", "{}")),
                ChatInput.of(prompt("ok1", "fine", "Hello", WEATHER, null)));

        List<String> out = run(inputs);

        assertThat(out).filteredOn(s -> s.startsWith("error")).hasSize(3);
        // A forced call's arguments are constrained to the tool's schema: never a schema violation. The
        // required "location" is forced first, and 8 tokens cut the call short (a valid prefix).
        assertThat(out).noneMatch(s -> s.contains("SCHEMA_VIOLATION"));
        assertThat(out).anyMatch(s -> s.contains("raw text: get_weather\n{\"locati"));
        // A forced function the tools do not offer is refused before generation, not after the model called it.
        assertThat(out).anyMatch(s -> s.startsWith("error PLAN invalid_tool_choice: ") && s.contains("get_time"));
        assertThat(out).anyMatch(s -> s.contains("answers no pending call"));
        assertThat(out).contains("completion ok1 fine OK STOP");
    }

    @Test
    void aCallTheModelBeginsOnItsOwnIsKeptToTheToolsSchemaUnderAutoAndRequired(@TempDir Path careless) throws Exception {
        // This model answers every prompt with a call whose arguments break the schema (a number where a
        // string of at most 4 characters belongs): unconstrained, each became a SCHEMA_VIOLATION error.
        ScriptedCheckpoint.write(careless, Map.of());
        Glm4Tokenizer tok = Glm4Tokenizer.load(careless);
        Map<Integer, Integer> script = new HashMap<>();
        int at = tok.specialId("<|assistant|>");
        for (int t : tok.encode("get_weather\n{\"location\": 5}")) {
            script.put(at, t);
            at = t;
        }
        script.put(at, tok.specialId("<|observation|>"));
        ScriptedCheckpoint.write(careless, script);
        String shortLocation = """
                [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
                  "properties": {"location": {"type": "string", "maxLength": 4}}, "required": ["location"],
                  "additionalProperties": false}}}]""";

        List<String> out = run(List.of(
                ChatInput.of(prompt("a1", "auto", "Weather?", shortLocation, null)),
                ChatInput.of(prompt("q1", "required", "Weather?", shortLocation, "required"))), careless, 32, null);

        assertThat(out).filteredOn(s -> s.startsWith("error")).isEmpty();
        assertThat(out).hasSize(2).allMatch(s -> s.startsWith("call ") && s.contains(" get_weather {\"location\":\""));
    }


    /**
     * With budgets, prompts pass the budget stage keyed by tenant and tool results pass it keyed by conversation, so
     * a tool result no longer queues behind a prompt sent before it (see docs/ARCHITECTURE.md, Token budgets): this
     * input set sends no result ahead of its call.
     */
    @Test
    void withTokenBudgetsPromptsAndToolResultsPassTheBudgetStageToTheChatStage() throws Exception {
        List<ChatInput> inputs = List.of(
                ChatInput.of(prompt("r1", "c1", "What's the weather in Beijing?", WEATHER, "get_weather")),
                ChatInput.of(new ToolResult("c9", "r9-call-1", "{\"temperature\": 25}")),
                ChatInput.of(prompt("r2", "c2", "Hello", null, null)));

        List<String> out = run(inputs, model, 8, "*:100000/1h");

        assertThat(out).containsExactlyInAnyOrder(
                "call r1 c1 r1-call-1 get_weather {}",
                "error PLAN no_pending_call: tool result for call r9-call-1 of conversation c9 answers no pending call"
                        + " (none is pending)",
                "completion r2 c2 OK STOP");
    }

    private static List<String> run(List<ChatInput> inputs) throws Exception {
        return run(inputs, model, 8, null);
    }

    private static List<String> run(List<ChatInput> inputs, Path model, int maxTokens, String budgets) throws Exception {
        Configuration conf = new Configuration();
        if (budgets != null) {
            conf.set(GlmOptions.TENANTS_BUDGETS, budgets);
        }
        conf.set(GlmOptions.MODEL_PATH, model.toString());
        conf.set(GlmOptions.BACKEND, "cpu");
        conf.set(GlmOptions.MAX_TOKENS, maxTokens);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        GlmStreams.Chat chat = GlmStreams.chat(env.fromData(inputs).keyBy(ChatInput::conversationId), conf);
        DataStream<String> all = chat.completions()
                .map(c -> "completion " + c.requestId() + " " + c.conversationId() + " " + c.text() + " " + c.finishReason())
                .union(chat.functionCalls().map(f -> "call " + f.requestId() + " " + f.conversationId() + " "
                        + f.callId() + " " + f.name() + " " + f.argumentsJson()))
                .union(chat.errors().map(e -> "error " + e.stage() + " " + e.reason()));
        List<String> out = new ArrayList<>();
        all.executeAndCollect().forEachRemaining(out::add);
        return out;
    }

    private static Prompt prompt(String requestId, String conversation, String text, String tools, String toolChoice) {
        return new Prompt(requestId, conversation, null, text, null, tools, null, toolChoice, Task.CHAT);
    }
}
