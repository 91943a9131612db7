package io.flinkglm.runtime.chat;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkglm.runtime.testing.SharedData;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** Telling a text answer from a function call in generated text. */
class AssistantReplyTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void conformanceToolCallOutputsParse() throws IOException {
        JsonNode root = JSON.readTree(SharedData.glm4().resolve("conformance.json").toFile());
        for (JsonNode v : root.get("tool_call_outputs")) {
            AssistantReply reply = AssistantReply.parse(v.get("generated").asText(), v.get("stop").asInt() == 151_338);

            if (v.get("call").isNull()) {
                assertThat(reply).isEqualTo(new AssistantReply.Text(v.get("generated").asText().substring(1)));
            } else {
                AssistantReply.FunctionCall call = (AssistantReply.FunctionCall) reply;
                assertThat(call.name()).isEqualTo(v.get("call").get("name").asText());
                assertThat(call.arguments()).isEqualTo(v.get("call").get("arguments"));
            }
        }
    }

    @Test
    void textLosesOnlyTheLeadingNewline() {
        assertThat(AssistantReply.parse("\n\n  Hi\n", false)).isEqualTo(new AssistantReply.Text("\n  Hi\n"));
        assertThat(AssistantReply.parse("Hi", false)).isEqualTo(new AssistantReply.Text("Hi"));
    }

    @Test
    void callWithoutNewlineHasNoArguments() {
        AssistantReply.FunctionCall call = (AssistantReply.FunctionCall) AssistantReply.parse("get_time", true);

        assertThat(call.name()).isEqualTo("get_time");
        assertThat(call.rawArguments()).isEmpty();
        assertThat(call.arguments()).isEqualTo(JSON.createObjectNode());
    }

    @Test
    void blankArgumentsMeanAnEmptyObject() {
        AssistantReply.FunctionCall call = (AssistantReply.FunctionCall) AssistantReply.parse("get_time\n  ", true);

        assertThat(call.argumentsValid()).isTrue();
        assertThat(call.arguments()).isEmpty();
    }

    @Test
    void nestedJsonArgumentsParse() throws IOException {
        String args = "{\"filter\": {\"city\": [\"Beijing\", \"Shanghai\"], \"days\": 3}, \"units\": null}";

        AssistantReply.FunctionCall call = (AssistantReply.FunctionCall) AssistantReply.parse("search\n" + args, true);

        assertThat(call.arguments()).isEqualTo(JSON.readTree(args));
        assertThat(call.rawArguments()).isEqualTo(args);
    }

    @Test
    void chineseNamesAndValuesParse() {
        AssistantReply.FunctionCall call = (AssistantReply.FunctionCall) AssistantReply.parse("\n查询天气\n{\"城市\": \"北京\"}", true);

        assertThat(call.name()).isEqualTo("查询天气");
        assertThat(call.arguments().get("城市").asText()).isEqualTo("北京");
    }

    @Test
    void trailingTextAfterTheJsonMakesArgumentsInvalid() {
        AssistantReply.FunctionCall call = (AssistantReply.FunctionCall) AssistantReply.parse(
                "get_weather\n{\"location\": \"Beijing\"}\nI will now call it.", true);

        assertThat(call.argumentsValid()).isFalse();
        assertThat(call.rawArguments()).isEqualTo("{\"location\": \"Beijing\"}\nI will now call it.");
    }

    @Test
    void invalidJsonIsKeptRawNotThrown() {
        AssistantReply.FunctionCall call = (AssistantReply.FunctionCall) AssistantReply.parse("get_weather\n{\"location\": ", true);

        assertThat(call.argumentsValid()).isFalse();
        assertThat(call.parsedArguments()).isEmpty();
        assertThat(call.rawArguments()).isEqualTo("{\"location\": ");
    }

    @Test
    void callGoesBackIntoHistoryAsGlmFunctionCallMessage() {
        AssistantReply.FunctionCall call = (AssistantReply.FunctionCall) AssistantReply.parse("f\n{\"a\": 1}", true);

        assertThat(call.toMessage()).isEqualTo(ChatMessage.functionCall("f", "{\"a\": 1}"));
    }
}
