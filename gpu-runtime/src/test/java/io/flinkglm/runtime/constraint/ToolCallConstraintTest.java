package io.flinkglm.runtime.constraint;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The tool call constraint: a trie over {@code name\n} handing over to each tool's arguments, optionally beside an answer. */
class ToolCallConstraintTest {
    private static final int OBSERVATION = 900;
    private static final int USER = 901;
    private static final List<Integer> STOPS = List.of(USER, OBSERVATION);
    private static final String WEATHER = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":6}},"
            + "\"required\":[\"city\"],\"additionalProperties\":false}";

    private static Map<String, Constraint> tools() {
        Map<String, Constraint> tools = new LinkedHashMap<>();
        tools.put("get_weather", Constraint.jsonSchema(WEATHER));
        tools.put("get_time", Constraint.jsonObject());
        tools.put("python", null);
        return tools;
    }

    private static int walk(Constraint c, String text) {
        return c.advance(c.startState(), text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aRequiredCallIsANameTheSeparatorAndArgumentsValidForThatTool() {
        Constraint c = Constraint.toolCall(tools(), true, null, Set.of(OBSERVATION));
        assertThat(c.accepts(bytes("get_weather\n{\"city\":\"Oslo\"}"))).isTrue();
        assertThat(c.accepts(bytes("get_time\n{}"))).isTrue();
        assertThat(c.accepts(bytes("python\nprint(1)"))).as("a built-in's input is free").isTrue();
        assertThat(c.accepts(bytes("get_weather\n{}"))).as("city is required").isFalse();
        assertThat(walk(c, "get_weather\n{\"town\"")).as("no other property").isNegative();
        assertThat(walk(c, "get_\n")).as("not a tool").isNegative();
        assertThat(walk(c, "\nSunny")).as("an answer is not a call").isNegative();
        assertThat(c.accepts(bytes("get_weather"))).as("a name alone is no call").isFalse();
        assertThat(c.allowedStops(walk(c, "get_time\n{}"), STOPS)).as("a call ends on observation only")
                .containsExactly(OBSERVATION);
        assertThat(c.allowedStops(walk(c, "get_time\n{"), STOPS)).isEmpty();
    }

    @Test
    void anOptionalCallLeavesAnswersFreeButConstrainsACallOnceItsNameAndSeparatorAreOut() {
        Constraint c = Constraint.toolCall(tools(), false, null, Set.of(OBSERVATION));
        int answer = walk(c, "\nIt is sunny. get_weather\n{{{");
        assertThat(answer).isNotNegative();
        assertThat(c.inCall(answer)).isFalse();
        assertThat(c.allowedStops(answer, STOPS)).as("an answer never ends like a call").containsExactly(USER);
        assertThat(c.allowedStops(walk(c, "get_wea"), STOPS)).as("a name's prefix is still text").containsExactly(USER);
        assertThat(walk(c, "get_weather\nSunny")).as("a begun call must go on as arguments").isNegative();
        assertThat(walk(c, "get_weather\n{\"city\":1")).isNegative();
        int call = walk(c, "get_weather\n{\"city\":\"Oslo\"}");
        assertThat(c.inCall(call)).isTrue();
        assertThat(c.allowedStops(call, STOPS)).containsExactly(OBSERVATION);
        assertThat(c.canContinue(call)).isFalse();
        assertThat(c.accepts(bytes("get_weatherman"))).as("diverged after the name: text").isTrue();
    }

    @Test
    void anOptionalCallsAnswerFollowsTheAnswersOwnConstraintFromTheFirstByte() {
        Constraint c = Constraint.toolCall(tools(), false, Constraint.regex("ge[a-z]*!"), Set.of(OBSERVATION));
        assertThat(c.accepts(bytes("get!"))).as("a name's prefix that is an answer").isTrue();
        assertThat(c.accepts(bytes("get_time\n{}"))).isTrue();
        assertThat(walk(c, "\nfree text")).isNegative();
        assertThat(walk(c, "gex")).isNotNegative();
        assertThat(walk(c, "gex_")).isNegative();
    }

    @Test
    void masksLetATokenRunFromTheNameIntoTheArgumentsAndKeepOnlyValidOnes() {
        byte[][] vocab = {bytes("get"), bytes("_time\n{"), bytes("_weather\n{\""), bytes("\n{}"), bytes("}"),
                bytes("x"), bytes("_time\n["), null};
        TokenTrie trie = TokenTrie.of(vocab);
        Constraint c = Constraint.toolCall(tools(), true, null, Set.of(OBSERVATION));
        assertThat(ids(c.allowedTokens(c.startState(), trie), vocab.length)).containsExactly(0);
        int afterGet = walk(c, "get");
        assertThat(ids(c.allowedTokens(afterGet, trie), vocab.length)).containsExactly(1, 2);
        assertThat(ids(c.allowedTokens(walk(c, "get_time\n{"), trie), vocab.length)).contains(4).doesNotContain(5);
    }

    @Test
    void everyMaskAllowsExactlyTheTokensWhoseBytesKeepTheOutputValid() {
        List<byte[]> tokens = new java.util.ArrayList<>();
        for (int b = 0; b < 256; b++) {
            tokens.add(new byte[]{(byte) b});
        }
        for (String t : List.of("get", "get_", "_weather", "_weather\n", "_weather\n{\"", "\n{}", "\n{\"city\":\"",
                "_time\n{", "_time\n[", "time", "python\n", "print(", "{\"", "\"}", "Oslo", "\nSunny", "getaway")) {
            tokens.add(bytes(t));
        }
        tokens.add(null); // an id without bytes, as the embedding's padding rows
        TokenTrie trie = TokenTrie.of(tokens.toArray(new byte[0][]));
        List<String> outputs = List.of("get_weather\n{\"city\":\"Oslo\"}", "get_time\n{}", "python\nprint(1)",
                "\nSunny", "getaway", "ge");
        for (Constraint c : List.of(Constraint.toolCall(tools(), false, null, Set.of(OBSERVATION)),
                Constraint.toolCall(tools(), true, null, Set.of(OBSERVATION)),
                Constraint.toolCall(tools(), false, Constraint.regex("ge[a-z]*!?|\nSunny"), Set.of(OBSERVATION)))) {
            for (String output : outputs) {
                int state = c.startState();
                for (byte b : bytes(output)) {
                    if (state < 0) {
                        break;
                    }
                    long[] mask = c.allowedTokens(state, trie);
                    for (int id = 0; id < tokens.size(); id++) {
                        boolean expected = tokens.get(id) != null && c.advance(state, tokens.get(id)) >= 0;
                        assertThat((mask[id >>> 6] & (1L << id)) != 0).as("token %d after a prefix of %s under %s",
                                id, output, c).isEqualTo(expected);
                    }
                    state = c.advance(state, new byte[]{b});
                }
            }
        }
    }

    @Test
    void badToolSetsAreRefusedByName() {
        assertThatThrownBy(() -> Constraint.toolCall(Map.of(), true, null, Set.of(OBSERVATION)))
                .hasMessageContaining("at least one tool");
        Map<String, Constraint> twoLines = new LinkedHashMap<>();
        twoLines.put("a\nb", null);
        assertThatThrownBy(() -> Constraint.toolCall(twoLines, false, null, Set.of(OBSERVATION)))
                .hasMessageContaining("a\nb");
    }

    @Test
    void equalToolSetsAreOneConstraintAndDifferentOnesAreNot() {
        Constraint a = Constraint.toolCall(tools(), true, null, Set.of(OBSERVATION));
        assertThat(Constraint.toolCall(tools(), true, null, Set.of(OBSERVATION))).isEqualTo(a);
        assertThat(Constraint.toolCall(tools(), false, null, Set.of(OBSERVATION))).isNotEqualTo(a);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<Integer> ids(long[] mask, int vocab) {
        return java.util.stream.IntStream.range(0, vocab).filter(i -> (mask[i >>> 6] & (1L << i)) != 0).boxed().toList();
    }
}
