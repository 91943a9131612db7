package io.flinkglm.runtime.cli;

/**
 * One {@code bin/glm} subcommand: reads its options, does its work, returns the JSON for stdout.
 * {@link Glm} lists the main jar's; others join through {@link java.util.ServiceLoader} from a jar
 * on the classpath ({@code bench}, in the test-jar beside the other benchmarks).
 */
interface Command {
    /** Options that take no value. */
    default java.util.Set<String> flags() {
        return java.util.Set.of();
    }

    /** One line of usage, e.g. {@code logits --model DIR --tokens 1,2,3}. */
    String usage();

    /** The name the command line gives it: the first word of {@link #usage()}. */
    default String name() {
        return usage().split(" ", 2)[0];
    }

    /** The result to print; a String result is printed raw (for {@code render}). */
    Object run(Args args) throws Exception;
}
