package io.flinkglm.runtime.cli;

/** One {@code bin/glm} subcommand: reads its options, does its work, returns the JSON for stdout. */
interface Command {
    /** Options that take no value. */
    default java.util.Set<String> flags() {
        return java.util.Set.of();
    }

    /** One line of usage, e.g. {@code logits --model DIR --tokens 1,2,3}. */
    String usage();

    /** The result to print; a String result is printed raw (for {@code render}). */
    Object run(Args args) throws Exception;
}
