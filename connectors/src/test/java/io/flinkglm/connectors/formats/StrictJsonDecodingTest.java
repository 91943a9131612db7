package io.flinkglm.connectors.formats;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.flinkglm.connectors.formats.MalformedRecordException.Kind;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.ToolResult;
import io.flinkglm.records.WireRecord;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A JSON value that is not exactly a record is a dead letter, never a silently changed record: no trailing
 * text after the object, no number or boolean turned into a string, no fraction cut to an int, no string or
 * boolean read as a number.
 */
class StrictJsonDecodingTest {

    private static final String PROMPT = "{\"request_id\":\"r1\",\"conversation_id\":\"c1\",\"task\":\"complete\"";

    /** A prompt with one more field, {@code "name": value}. */
    private static String promptWith(String field) {
        return PROMPT + ",\"text\":\"hi\"," + field + "}";
    }

    static Stream<Arguments> trailingText() {
        return Stream.of(
                Arguments.of(PROMPT + ",\"text\":\"hi\"} xyz"),
                Arguments.of(PROMPT + ",\"text\":\"hi\"}}"),
                Arguments.of(PROMPT + ",\"text\":\"hi\"} {\"text\":\"again\"}"),
                Arguments.of(PROMPT + ",\"text\":\"hi\"} 5"),
                Arguments.of(PROMPT + ",\"text\":\"hi\"}]"));
    }

    @ParameterizedTest
    @MethodSource("trailingText")
    void textAfterTheObjectIsInvalidJson(String value) {
        MalformedRecordException e = decodeFails(Prompt.class, value);

        assertThat(e.kind()).isEqualTo(Kind.INVALID_JSON);
    }

    static Stream<Arguments> wrongScalarTypes() {
        return Stream.of(
                // numbers and booleans into strings
                Arguments.of(Prompt.class, PROMPT + ",\"text\":5}", "text"),
                Arguments.of(Prompt.class, PROMPT + ",\"text\":5.5}", "text"),
                Arguments.of(Prompt.class, PROMPT + ",\"text\":true}", "text"),
                Arguments.of(Prompt.class, PROMPT + ",\"messages\":[{\"role\":\"user\",\"content\":5}]}", "content"),
                Arguments.of(ToolResult.class, "{\"conversation_id\":\"c1\",\"call_id\":\"k\",\"content\":5}", "content"),
                Arguments.of(ToolResult.class, "{\"conversation_id\":7,\"call_id\":\"k\",\"content\":\"x\"}",
                        "conversation_id"),
                // fractions, strings and booleans into ints
                Arguments.of(Prompt.class, promptWith("\"sampling\":{\"max_tokens\":3.7}"), "max_tokens"),
                Arguments.of(Prompt.class, promptWith("\"sampling\":{\"max_tokens\":3.0}"), "max_tokens"),
                Arguments.of(Prompt.class, promptWith("\"sampling\":{\"max_tokens\":\"12\"}"), "max_tokens"),
                Arguments.of(Prompt.class, promptWith("\"sampling\":{\"top_k\":true}"), "top_k"),
                Arguments.of(Prompt.class, promptWith("\"sampling\":{\"seed\":1.5}"), "seed"),
                // strings and booleans into floating point
                Arguments.of(Prompt.class, promptWith("\"sampling\":{\"temperature\":\"0.5\"}"), "temperature"),
                Arguments.of(Prompt.class, promptWith("\"sampling\":{\"top_p\":false}"), "top_p"),
                // a number for an enum would pick a constant by its position
                Arguments.of(Prompt.class, PROMPT.replace("\"complete\"", "0") + ",\"text\":\"hi\"}", "task"));
    }

    @ParameterizedTest
    @MethodSource("wrongScalarTypes")
    void aScalarOfTheWrongTypeIsAnInvalidRecordNamingTheField(Class<? extends WireRecord> type, String value,
            String field) {
        MalformedRecordException e = decodeFails(type, value);

        assertThat(e.kind()).isEqualTo(Kind.INVALID_RECORD);
        assertThat(e.getMessage()).contains(field);
    }

    static Stream<Arguments> exactValues() {
        return Stream.of(
                Arguments.of(promptWith("\"sampling\":{\"max_tokens\":12,\"temperature\":1}") + "\n"),
                Arguments.of(promptWith("\"sampling\":{\"temperature\":0.5,\"seed\":9007199254740993}")),
                Arguments.of("  " + promptWith("\"tenant\":\"acme\"") + " \r\n\t"));
    }

    @ParameterizedTest
    @MethodSource("exactValues")
    void integersIntoFloatsAndTrailingWhitespaceAreStillAccepted(String value) throws Exception {
        assertThat(new JsonRecordSerde<>(Prompt.class).decode(value.getBytes(UTF_8)).text()).isEqualTo("hi");
    }

    private static MalformedRecordException decodeFails(Class<? extends WireRecord> type, String value) {
        MalformedRecordException e = catchThrowableOfType(MalformedRecordException.class,
                () -> new JsonRecordSerde<>(type).decode(value.getBytes(UTF_8)));
        assertThat(e).as("decoding %s fails", value).isNotNull();
        return e;
    }
}
