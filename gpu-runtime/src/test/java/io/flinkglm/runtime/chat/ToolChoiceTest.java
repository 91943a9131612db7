package io.flinkglm.runtime.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkglm.runtime.testing.SharedData;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** tool_choice: what the prompt shows and how a forced call is prefilled and parsed back. */
class ToolChoiceTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<ChatMessage> chat() throws IOException {
        JsonNode tool = JSON.readTree("""
                {"type": "function", "function": {"name": "get_weather",
                 "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}""");
        return List.of(ChatMessage.system(null).withTools(List.of(tool)), ChatMessage.user("Weather in Beijing?"));
    }

    @Test
    void noneLeavesTheToolsOutOfThePrompt() throws IOException {
        String auto = ChatTemplate.render(ToolChoice.auto().applyTo(chat()), true);
        String none = ChatTemplate.render(ToolChoice.none().applyTo(chat()), true);

        assertThat(auto).contains("# 可用工具", "## get_weather");
        assertThat(none).isEqualTo("[gMASK]<sop><|user|>\nWeather in Beijing?<|assistant|>");
    }

    @Test
    void forcedFunctionPrefillsTheNameAsAssistantMetadata() throws IOException {
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(SharedData.glm4().resolve("tokenizer.model"));
        ToolChoice choice = ToolChoice.function("get_weather");

        int[] prompt = choice.encodePrompt(tokenizer, chat());
        int[] plain = ChatTemplate.encode(tokenizer, chat(), true);

        assertThat(Arrays.copyOf(prompt, plain.length)).isEqualTo(plain);
        assertThat(tokenizer.decode(Arrays.copyOfRange(prompt, plain.length, prompt.length))).isEqualTo("get_weather\n");
        // The prefill is tokenized as the same call in history would be, up to its arguments.
        int[] history = ChatTemplate.encode(tokenizer, List.of(ChatMessage.functionCall("get_weather", "{\"location\": \"x\"}")), false);
        int[] forced = choice.forcedPrefix(tokenizer);
        assertThat(Arrays.copyOfRange(history, 3, 3 + forced.length)).isEqualTo(forced);
    }

    @Test
    void forcedReplyIsACallToTheForcedFunction() throws IOException {
        AssistantReply reply = ToolChoice.function("get_weather").parseReply("{\"location\": \"Beijing\"}", true);

        assertThat(reply).isEqualTo(new AssistantReply.FunctionCall("get_weather", "{\"location\": \"Beijing\"}",
                JSON.readTree("{\"location\": \"Beijing\"}")));
        assertThat(ToolChoice.auto().parseReply("\nSunny.", false)).isEqualTo(new AssistantReply.Text("Sunny."));
        assertThat(ToolChoice.auto().forcedPrefix(null)).isEmpty();
    }

    @Test
    void aRequiredReplyIsACallWhateverStopTokenEndedItAndNeedsNoPrefill() throws IOException {
        AssistantReply reply = ToolChoice.required().parseReply("get_weather\n{\"location\":\"Beijing\"}", false);

        assertThat(reply).isEqualTo(new AssistantReply.FunctionCall("get_weather", "{\"location\":\"Beijing\"}",
                JSON.readTree("{\"location\":\"Beijing\"}")));
        assertThat(ToolChoice.required().forcedPrefix(null)).isEmpty();
        assertThat(ToolChoice.required().applyTo(chat())).isEqualTo(chat());
    }

    @Test
    void parsesOpenAiToolChoice() throws IOException {
        assertThat(ToolChoice.fromOpenAi(JSON.readTree("\"auto\""))).isEqualTo(ToolChoice.auto());
        assertThat(ToolChoice.fromOpenAi(null)).isEqualTo(ToolChoice.auto());
        assertThat(ToolChoice.fromOpenAi(JSON.readTree("\"none\""))).isEqualTo(ToolChoice.none());
        assertThat(ToolChoice.fromOpenAi(JSON.readTree("{\"type\": \"function\", \"function\": {\"name\": \"f\"}}")))
                .isEqualTo(ToolChoice.function("f"));
        assertThat(ToolChoice.fromOpenAi(JSON.readTree("\"required\""))).isEqualTo(ToolChoice.required());
        assertThatThrownBy(() -> ToolChoice.fromOpenAi(JSON.readTree("\"any\"")))
                .hasMessageContaining("\"any\" is not supported");
    }
}
