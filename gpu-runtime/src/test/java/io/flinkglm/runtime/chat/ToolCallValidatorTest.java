package io.flinkglm.runtime.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkglm.runtime.testing.SharedData;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** Checking generated function calls against the offered tools: every model output gives data, never an exception. */
class ToolCallValidatorTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ToolCallValidator VALIDATOR = ToolCallValidator.fromJson("""
            [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
              "parameters": {"type": "object",
                             "properties": {"location": {"type": "string"}, "days": {"type": "integer"}},
                             "required": ["location"]}}},
             {"type": "function", "function": {"name": "search",
              "parameters": {"type": "object",
                             "properties": {"filter": {"type": "object",
                                                       "properties": {"city": {"type": "array", "items": {"type": "string"}}}}}}}},
             {"type": "function", "function": {"name": "get_time", "description": "No parameters"}},
             {"type": "function", "function": {"name": "查询天气",
              "parameters": {"type": "object", "properties": {"城市": {"type": "string"}}, "required": ["城市"]}}},
             {"type": "python"}, {"type": "simple_browser"}]""");

    private static ValidatedToolCall validate(String generated) {
        return VALIDATOR.validate((AssistantReply.FunctionCall) AssistantReply.parse(generated, true));
    }

    @Test
    void conformanceToolCallOutputsValidate() throws IOException {
        JsonNode root = JSON.readTree(SharedData.glm4().resolve("conformance.json").toFile());
        int calls = 0;
        for (JsonNode v : root.get("tool_call_outputs")) {
            AssistantReply reply = AssistantReply.parse(v.get("generated").asText(), v.get("stop").asInt() == 151_338);
            if (v.get("call").isNull()) {
                assertThat(reply).isInstanceOf(AssistantReply.Text.class);
                continue;
            }
            ValidatedToolCall checked = VALIDATOR.validate((AssistantReply.FunctionCall) reply);

            assertThat(checked).isInstanceOf(ValidatedToolCall.Function.class);
            assertThat(checked.name()).isEqualTo(v.get("call").get("name").asText());
            assertThat(((ValidatedToolCall.Function) checked).arguments()).isEqualTo(v.get("call").get("arguments"));
            calls++;
        }
        assertThat(calls).as("conformance.json has function-call vectors").isPositive();
    }

    @Test
    void validCallKeepsParsedAndRawArguments() throws IOException {
        ValidatedToolCall checked = validate("get_weather\n{\"location\": \"Beijing\", \"days\": 3}");

        assertThat(checked).isEqualTo(new ValidatedToolCall.Function("get_weather",
                JSON.readTree("{\"location\": \"Beijing\", \"days\": 3}"), "{\"location\": \"Beijing\", \"days\": 3}"));
    }

    @Test
    void callWithoutNewlineHasEmptyArgumentsWhichFailRequiredFields() {
        ValidatedToolCall.Invalid checked = (ValidatedToolCall.Invalid) validate("get_weather");

        assertThat(checked.reason()).isEqualTo(ValidatedToolCall.Reason.SCHEMA_VIOLATION);
        assertThat(checked.violations()).singleElement().asString().contains("location");
    }

    @Test
    void emptyArgumentsSatisfyAFunctionWithoutParameters() {
        assertThat(validate("get_time\n")).isEqualTo(
                new ValidatedToolCall.Function("get_time", JSON.createObjectNode(), ""));
        assertThat(validate("get_time")).isInstanceOf(ValidatedToolCall.Function.class);
    }

    @Test
    void nestedJsonIsCheckedAllTheWayDown() {
        assertThat(validate("search\n{\"filter\": {\"city\": [\"Beijing\", \"Shanghai\"]}}").isValid()).isTrue();

        ValidatedToolCall.Invalid bad = (ValidatedToolCall.Invalid) validate("search\n{\"filter\": {\"city\": [\"Beijing\", 7]}}");

        assertThat(bad.reason()).isEqualTo(ValidatedToolCall.Reason.SCHEMA_VIOLATION);
        assertThat(bad.message()).contains("city[1]");
    }

    @Test
    void textAfterTheJsonIsInvalidJsonWithTheRawTextKept() {
        String raw = "{\"location\": \"Beijing\"} and then I will tell you";

        ValidatedToolCall.Invalid checked = (ValidatedToolCall.Invalid) validate("get_weather\n" + raw);

        assertThat(checked.reason()).isEqualTo(ValidatedToolCall.Reason.INVALID_JSON);
        assertThat(checked.rawArguments()).isEqualTo(raw);
        assertThat(checked.message()).contains("get_weather", "text follows the JSON value");
    }

    @Test
    void brokenJsonIsInvalidJson() {
        ValidatedToolCall.Invalid checked = (ValidatedToolCall.Invalid) validate("get_weather\n{\"location\": \"Bei");

        assertThat(checked.reason()).isEqualTo(ValidatedToolCall.Reason.INVALID_JSON);
        assertThat(checked.rawArguments()).isEqualTo("{\"location\": \"Bei");
    }

    @Test
    void chineseNamesAndValuesValidate() throws IOException {
        ValidatedToolCall checked = validate("查询天气\n{\"城市\": \"北京\"}");

        assertThat(checked).isEqualTo(new ValidatedToolCall.Function("查询天气", JSON.readTree("{\"城市\": \"北京\"}"),
                "{\"城市\": \"北京\"}"));
    }

    @Test
    void unknownToolIsNamedWithTheOfferedOnes() {
        ValidatedToolCall.Invalid checked = (ValidatedToolCall.Invalid) validate("send_email\n{\"to\": \"a@b.c\"}");

        assertThat(checked.reason()).isEqualTo(ValidatedToolCall.Reason.UNKNOWN_TOOL);
        assertThat(checked.name()).isEqualTo("send_email");
        assertThat(checked.message()).contains("send_email", "get_weather", "python");
    }

    @Test
    void missingRequiredFieldIsASchemaViolation() {
        ValidatedToolCall.Invalid checked = (ValidatedToolCall.Invalid) validate("get_weather\n{\"days\": 3}");

        assertThat(checked.reason()).isEqualTo(ValidatedToolCall.Reason.SCHEMA_VIOLATION);
        assertThat(checked.violations()).singleElement().asString().contains("location");
    }

    @Test
    void wrongTypeIsASchemaViolation() {
        ValidatedToolCall.Invalid checked = (ValidatedToolCall.Invalid) validate(
                "get_weather\n{\"location\": \"Beijing\", \"days\": \"three\"}");

        assertThat(checked.reason()).isEqualTo(ValidatedToolCall.Reason.SCHEMA_VIOLATION);
        assertThat(checked.violations()).singleElement().asString().contains("days", "integer");
    }

    @Test
    void argumentsThatAreNotAnObjectAreASchemaViolation() {
        ValidatedToolCall.Invalid checked = (ValidatedToolCall.Invalid) validate("get_time\n[1, 2]");

        assertThat(checked.reason()).isEqualTo(ValidatedToolCall.Reason.SCHEMA_VIOLATION);
        assertThat(checked.message()).contains("must be a JSON object", "array");
    }

    @Test
    void builtInToolKeepsItsRawText() {
        String code = "```python\nprint(sum(range(10)))\n```";

        assertThat(validate("python\n" + code)).isEqualTo(new ValidatedToolCall.BuiltIn("python", code));
        assertThat(((ValidatedToolCall.BuiltIn) validate("simple_browser\nsearch(\"北京天气\")")).rawText())
                .isEqualTo("search(\"北京天气\")");
    }

    @Test
    void builtInToolThatWasNotOfferedIsUnknown() {
        assertThat(((ValidatedToolCall.Invalid) validate("cogview\nA cat on a sofa")).reason())
                .isEqualTo(ValidatedToolCall.Reason.UNKNOWN_TOOL);
    }

    @Test
    void toolChoiceRestrictsWhichCallsAreAllowed() {
        AssistantReply.FunctionCall call = (AssistantReply.FunctionCall) AssistantReply.parse(
                "get_weather\n{\"location\": \"Beijing\"}", true);

        assertThat(VALIDATOR.validate(call, ToolChoice.auto()).isValid()).isTrue();
        assertThat(VALIDATOR.validate(call, ToolChoice.function("get_weather")).isValid()).isTrue();
        assertThat(((ValidatedToolCall.Invalid) VALIDATOR.validate(call, ToolChoice.function("search"))).reason())
                .isEqualTo(ValidatedToolCall.Reason.NOT_ALLOWED);
        assertThat(((ValidatedToolCall.Invalid) VALIDATOR.validate(call, ToolChoice.none())).reason())
                .isEqualTo(ValidatedToolCall.Reason.NOT_ALLOWED);
    }

    @Test
    void badToolDefinitionsFailTheConstructorNotTheCall() {
        assertThatThrownBy(() -> ToolCallValidator.fromJson("[{\"type\": \"retrieval\"}]"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("retrieval");
        assertThatThrownBy(() -> ToolCallValidator.fromJson(
                "[{\"type\": \"function\", \"function\": {\"name\": \"f\"}}, {\"type\": \"function\", \"function\": {\"name\": \"f\"}}]"))
                .hasMessageContaining("'f' is declared twice");
        assertThatThrownBy(() -> ToolCallValidator.fromJson("{\"type\": \"python\"}"))
                .hasMessageContaining("JSON array");
    }
}
