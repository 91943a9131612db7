package io.flinkglm.runtime.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.annotation.Internal;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * {@code bin/glm}: the runtime's command line. JSON on stdout, messages on stderr, exit code 0 on
 * success, 1 on a failure (bad model file, bad input), 2 on a usage mistake.
 *
 * <pre>{@code
 * bin/glm make-model --out models/tiny --preset tiny
 * bin/glm logits --model models/tiny --tokens 1,2,3
 * }</pre>
 */
@Internal
public final class Glm {
    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        COMMANDS.put("logits", new LogitsCommand());
        COMMANDS.put("generate", new GenerateCommand());
        COMMANDS.put("make-model", new MakeModelCommand());
        COMMANDS.put("tokenize", new TokenizeCommand());
        COMMANDS.put("detokenize", new DetokenizeCommand());
        COMMANDS.put("render", new RenderCommand());
        // Benchmarks stay out of the main jar: bench comes from the test-jar, which bin/glm puts on
        // the classpath (see Command).
        for (Command tool : ServiceLoader.load(Command.class)) {
            COMMANDS.putIfAbsent(tool.name(), tool);
        }
    }

    private Glm() {}

    public static void main(String[] argv) {
        if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
            System.setProperty("java.util.logging.SimpleFormatter.format", "glm: %5$s%6$s%n");
        }
        System.exit(run(argv, System.in, System.out, System.err));
    }

    /** Runs one command line; returns the exit code. */
    static int run(String[] argv, java.io.InputStream in, PrintStream out, PrintStream err) {
        if (argv.length == 0 || !COMMANDS.containsKey(argv[0])) {
            err.println(argv.length == 0 ? "glm: no command given" : "glm: unknown command \"" + argv[0] + "\"");
            printUsage(err);
            return 2;
        }
        Command command = COMMANDS.get(argv[0]);
        try {
            Args args = new Args(argv, 1, command.flags(), in);
            Object result = command.run(args);
            if (result instanceof String text) {
                out.print(text);
            } else if (result instanceof JsonNode node) {
                out.println(Json.MAPPER.writeValueAsString(node));
            } else {
                out.println(Json.MAPPER.writeValueAsString(result));
            }
            out.flush();
            return 0;
        } catch (Args.UsageException e) {
            err.println("glm " + argv[0] + ": " + e.getMessage());
            err.println("usage: bin/glm " + command.usage());
            return 2;
        } catch (Exception e) {
            err.println("glm " + argv[0] + ": " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            if (Boolean.getBoolean("flinkglm.trace")) {
                e.printStackTrace(err);
            }
            return 1;
        } catch (OutOfMemoryError e) {
            err.println("glm " + argv[0] + ": out of memory (" + e.getMessage()
                    + "); give the JVM more heap with GLM_JAVA_OPTS=-Xmx...");
            return 1;
        }
    }

    private static void printUsage(PrintStream err) {
        err.println("usage:");
        for (Command c : COMMANDS.values()) {
            err.println("  bin/glm " + c.usage());
        }
    }
}
