package io.flinkglm.runtime.constraint;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The languages constraints compile to, checked on whole outputs and on token masks. */
class ConstraintTest {
    private static boolean accepts(Constraint c, String text) {
        return c.accepts(text.getBytes(StandardCharsets.UTF_8));
    }

    private static boolean isPrefix(Constraint c, String text) {
        return c.advance(c.startState(), text.getBytes(StandardCharsets.UTF_8)) >= 0;
    }

    @Test
    void aSchemaAcceptsCompactJsonWithItsPropertiesInSchemaOrderAndNothingElse() {
        Constraint c = Constraint.jsonSchema("""
                {"type":"object","properties":{
                  "category":{"enum":["bug","feature"]},
                  "urgency":{"type":"integer"},
                  "tags":{"type":"array","items":{"type":"string","maxLength":3},"maxItems":2},
                  "note":{"type":["string","null"]}},
                 "required":["category","urgency"],"additionalProperties":false}""");
        assertThat(accepts(c, "{\"category\":\"bug\",\"urgency\":-12}")).isTrue();
        assertThat(accepts(c, "{\"category\":\"feature\",\"urgency\":0,\"tags\":[\"a\",\"xyz\"],\"note\":null}")).isTrue();
        assertThat(accepts(c, "{\"category\":\"bug\",\"urgency\":1,\"note\":\"caf\\u00e9 \\\"x\\\" é\"}")).isTrue();
        assertThat(accepts(c, "{\"urgency\":1,\"category\":\"bug\"}")).as("schema order").isFalse();
        assertThat(accepts(c, "{\"category\":\"bug\"}")).as("required urgency").isFalse();
        assertThat(accepts(c, "{\"category\":\"bug\", \"urgency\":1}")).as("compact").isFalse();
        assertThat(accepts(c, "{\"category\":\"bug\",\"urgency\":01}")).isFalse();
        assertThat(accepts(c, "{\"category\":\"bug\",\"urgency\":1.5}")).isFalse();
        assertThat(accepts(c, "{\"category\":\"bug\",\"urgency\":1,\"tags\":[\"abcd\"]}")).as("maxLength").isFalse();
        assertThat(accepts(c, "{\"category\":\"bug\",\"urgency\":1,\"tags\":[\"a\",\"b\",\"c\"]}")).as("maxItems").isFalse();
        assertThat(accepts(c, "{\"category\":\"bug\",\"urgency\":1,\"note\":\"\\ud800\"}")).as("lone surrogate").isFalse();
        assertThat(isPrefix(c, "{\"category\":\"fe")).isTrue();
        assertThat(isPrefix(c, "{\"category\":\"x")).isFalse();
    }

    @Test
    void stringPatternsAreMatchedOnTheDecodedCharactersWithJsonEscapes() {
        Constraint c = Constraint.jsonSchema("{\"type\":\"string\",\"pattern\":\"^[A-Z]{2}-\\\\d+(\\\"|/)?$\"}");
        assertThat(accepts(c, "\"AB-12\"")).isTrue();
        assertThat(accepts(c, "\"AB-12\\\"\"")).isTrue();
        assertThat(accepts(c, "\"AB-12\"\"")).isFalse();
        assertThat(accepts(c, "\"Ab-12\"")).isFalse();
    }

    @Test
    void regexesMatchTheWholeOutputAsJavaRegexDoes() {
        Constraint c = Constraint.regex("(?:[a-c]+|x\\.y){2}\\s?[^0-9]?");
        for (String s : List.of("abx.y", "ccc ", "x.yx.y!", "ab", "x.yé")) {
            assertThat(accepts(c, s)).as(s).isEqualTo(s.matches("(?:[a-c]+|x\\.y){2}\\s?[^0-9]?"));
        }
        for (String s : List.of("a", "axy", "x.y5", "d")) {
            assertThat(accepts(c, s)).as(s).isEqualTo(s.matches("(?:[a-c]+|x\\.y){2}\\s?[^0-9]?"));
        }
    }

    @Test
    void choicesAcceptExactlyTheirOptions() {
        Constraint c = Constraint.choice(List.of("yes", "no", "不知道"));
        assertThat(accepts(c, "yes")).isTrue();
        assertThat(accepts(c, "不知道")).isTrue();
        assertThat(accepts(c, "ye")).isFalse();
        assertThat(accepts(c, "yess")).isFalse();
    }

    @Test
    void anUnsupportedKeywordIsRefusedByName() {
        assertThatThrownBy(() -> Constraint.jsonSchema("{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"number\",\"minimum\":3}}}"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'minimum'").hasMessageContaining("#/properties/n");
        assertThatThrownBy(() -> Constraint.jsonSchema("{\"$ref\":\"#/$defs/x\"}"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'$ref'");
        assertThatThrownBy(() -> Constraint.regex("(a)\\1"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("\\1");
        assertThatThrownBy(() -> Constraint.regex("a(?=b)"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("look-around");
    }

    @Test
    void aMaskAllowsExactlyTheTokensWhoseWholeBytesContinueTheOutput() {
        byte[][] vocab = {b("{"), b("{\""), b("\"a\""), b("\":"), b("true"), b("tr"), b("}"), b("x"), b("1"), b("{\"a\":")};
        TokenTrie trie = TokenTrie.of(vocab);
        Constraint c = Constraint.jsonSchema("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"boolean\"}},"
                + "\"required\":[\"a\"]}");
        assertThat(ids(c.allowedTokens(c.startState(), trie), vocab.length)).containsExactly(0, 1, 9);
        int afterColon = c.advance(c.startState(), b("{\"a\":"));
        assertThat(ids(c.allowedTokens(afterColon, trie), vocab.length)).containsExactly(4, 5);
        int done = c.advance(afterColon, b("true}"));
        assertThat(c.isComplete(done)).isTrue();
        assertThat(c.canContinue(done)).isFalse();
        assertThat(ids(c.allowedTokens(done, trie), vocab.length)).isEmpty();
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<Integer> ids(long[] mask, int n) {
        return java.util.stream.IntStream.range(0, n).filter(i -> (mask[i >>> 6] & (1L << i)) != 0).boxed().toList();
    }
}
