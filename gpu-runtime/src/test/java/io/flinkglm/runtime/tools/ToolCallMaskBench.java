package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.chat.ToolCallValidator;
import io.flinkglm.runtime.chat.ToolChoice;
import io.flinkglm.runtime.constraint.Constraint;
import io.flinkglm.runtime.constraint.TokenTrie;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Set;

/**
 * The cost of a tool call constraint over GLM-4's 151k-token vocabulary: the cold masks along a call
 * (the start state, where any answer is allowed too, is a walk of the whole trie), and the warm lookup,
 * for tool_choice auto and required.
 *
 * <pre>{@code
 * java ... io.flinkglm.runtime.tools.ToolCallMaskBench [/work/shared/glm4/tokenizer.model]
 * }</pre>
 */
public final class ToolCallMaskBench {
    static final String TOOLS = "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":"
            + "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"maxLength\":40},\"unit\":{\"enum\":[\"c\",\"f\"]}},"
            + "\"required\":[\"city\"],\"additionalProperties\":false}}},"
            + "{\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"parameters\":{\"type\":\"object\",\"properties\":"
            + "{\"zone\":{\"type\":\"string\",\"maxLength\":20}},\"required\":[\"zone\"],\"additionalProperties\":false}}},"
            + "{\"type\":\"function\",\"function\":{\"name\":\"search_tickets\"}}]";

    private ToolCallMaskBench() {}

    public static void main(String[] args) throws Exception {
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(Path.of(args.length > 0 ? args[0] : "/work/shared/glm4/tokenizer.model"));
        long t = System.nanoTime();
        TokenTrie trie = TokenTrie.of(tokenizer, 151_552);
        System.out.printf("trie build %.0f ms%n", (System.nanoTime() - t) / 1e6);
        Set<Integer> observation = Set.of(tokenizer.specialId("<|observation|>"));
        // A first tool set warms the JIT up (the first trie walks run interpreted), so the figures below are the
        // steady cost of a tool set the engine meets for the first time.
        ToolCallValidator warmUp = ToolCallValidator.fromJson(TOOLS.replace("40", "41"));
        walk(warmUp.callConstraint(ToolChoice.auto(), null, observation).orElseThrow(), trie,
                "get_weather\n{\"city\":\"x\"}".getBytes(StandardCharsets.UTF_8), null);
        ToolCallValidator tools = ToolCallValidator.fromJson(TOOLS);
        byte[] call = "get_weather\n{\"city\":\"Beijing\",\"unit\":\"c\"}".getBytes(StandardCharsets.UTF_8);
        byte[] answer = "\nIt is sunny in Beijing today.".getBytes(StandardCharsets.UTF_8);
        for (ToolChoice choice : new ToolChoice[]{ToolChoice.auto(), ToolChoice.required()}) {
            long c0 = System.nanoTime();
            Constraint c = tools.callConstraint(choice, null, observation).orElseThrow();
            System.out.printf("%s: build %.2f ms%n", choice, (System.nanoTime() - c0) / 1e6);
            walk(c, trie, call, choice + " call");
            if (choice.isAuto()) {
                walk(c, trie, answer, choice + " answer");
            }
        }
    }

    private static void walk(Constraint c, TokenTrie trie, byte[] output, String what) {
        for (String pass : new String[]{"cold", "warm"}) {
            int state = c.startState();
            double total = 0;
            double max = 0;
            for (byte b : output) {
                long s = System.nanoTime();
                c.allowedTokens(state, trie);
                double ms = (System.nanoTime() - s) / 1e6;
                total += ms;
                max = Math.max(max, ms);
                state = c.advance(state, new byte[]{b});
            }
            if (what != null) {
                System.out.printf("%s, %s masks along %d bytes: mean %.3f ms, max %.2f ms%n", what, pass, output.length,
                        total / output.length, max);
            }
        }
    }
}
