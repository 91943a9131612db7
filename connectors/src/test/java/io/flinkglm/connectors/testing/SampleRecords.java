package io.flinkglm.connectors.testing;

import io.flinkglm.records.ChatMessage;
import io.flinkglm.records.Completion;
import io.flinkglm.records.FinishReason;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.FunctionCall;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SafetyVerdict;
import io.flinkglm.records.SamplingOverrides;
import io.flinkglm.records.Task;
import io.flinkglm.records.ToolResult;
import io.flinkglm.records.WireRecord;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** One fully populated instance of every wire record, for round-trip tests. */
public final class SampleRecords {

    private SampleRecords() {}

    public static Prompt chatPrompt(String requestId, String conversationId) {
        return new Prompt(requestId, conversationId, "acme", null,
                List.of(new ChatMessage("system", "Be brief.", null),
                        new ChatMessage("user", "Wetter in Paris? 天气 ☀", Map.of("lang", "de"))),
                "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}}]",
                new SamplingOverrides(0.2, 0.9, 40, 256, 42L), "auto", Task.CHAT);
    }

    public static Prompt textPrompt(String requestId, String conversationId) {
        return new Prompt(requestId, conversationId, null, "Once upon a time", null, null, null, null, Task.COMPLETE);
    }

    public static List<WireRecord> oneOfEach() {
        return List.of(
                chatPrompt("req-1", "conv-1"),
                textPrompt("req-2", "conv-2"),
                new ToolResult("conv-1", "call-1", "{\"temperature_c\":18}"),
                new Completion("req-1", "conv-1", "Sunny, 18 °C.", FinishReason.STOP, 31, 7, 3L, 45L, 120L),
                new FunctionCall("req-1", "conv-1", "call-1", "get_weather", "{\"city\":\"Paris\"}"),
                new SafetyVerdict("req-1", "conv-1", SafetyVerdict.Checked.COMPLETION,
                        Map.of("violence", 0.91, "self_harm", 0.02), List.of("violence"), true,
                        Map.of("violence", 0.91, "self-harm", 0.02)),
                new DeadLetter("{oops".getBytes(StandardCharsets.UTF_8), "glm.prompts", 1, 42L,
                        "invalid_json: Unexpected end-of-input", DeadLetter.Stage.DECODE, 1_700_000_000_000L));
    }
}
