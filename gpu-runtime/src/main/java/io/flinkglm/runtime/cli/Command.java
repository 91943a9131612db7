package io.flinkglm.runtime.cli;

import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * One {@code bin/glm} subcommand: reads its options, does its work, returns the JSON for stdout.
 * {@link Glm} lists the main jar's; others join through {@link java.util.ServiceLoader} from a jar
 * on the classpath ({@code bench}, in the test-jar beside the other benchmarks).
 */
interface Command {
    /**
     * Options that take no value: those {@link #usage()} writes alone in brackets, e.g.
     * {@code [--special]}, so the usage line and the parser cannot disagree.
     */
    default Set<String> flags() {
        return FLAG.matcher(usage()).results().map(m -> m.group(1)).collect(Collectors.toUnmodifiableSet());
    }

    /** {@code [--name]} with no value inside the brackets. */
    Pattern FLAG = Pattern.compile("\\[--([a-z0-9-]+)]");

    /** One line of usage, e.g. {@code logits --model DIR --tokens 1,2,3}. */
    String usage();

    /** The name the command line gives it: the first word of {@link #usage()}. */
    default String name() {
        return usage().split(" ", 2)[0];
    }

    /** The result to print; a String result is printed raw (for {@code render}). */
    Object run(Args args) throws Exception;
}
