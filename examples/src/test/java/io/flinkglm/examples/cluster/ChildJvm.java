package io.flinkglm.examples.cluster;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * A JVM this test started: a JobManager, a TaskManager, a Flink CLI or SQL client. Every one is registered until
 * it has exited, and a shutdown hook kills what is left, so no child outlives the test JVM even
 * when a test fails or the run is interrupted (the cluster's own {@code close} is the normal path).
 */
final class ChildJvm {
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly),
                "cluster-child-reaper"));
    }

    final String name;
    final Process process;
    final Path log;

    private ChildJvm(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /**
     * Starts {@code main} with {@code classpath}, its stdout and stderr in {@code <dir>/<name>.out}.
     *
     * @param jvmArgs options before the main class (heap, --add-opens, system properties)
     */
    static ChildJvm start(String name, Path dir, List<String> jvmArgs, String classpath, String main,
            List<String> args, Map<String, String> env) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmArgs);
        command.add("-cp");
        command.add(classpath);
        command.add(main);
        command.addAll(args);
        Path out = dir.resolve(name + ".out");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(out.toFile()));
        builder.environment().putAll(env);
        Process process = builder.start();
        LIVE.add(process);
        process.onExit().thenRun(() -> LIVE.remove(process));
        return new ChildJvm(name, process, out);
    }

    /** SIGKILL (what {@link Process#destroyForcibly} sends on Linux): no shutdown hook, no goodbye to the JobManager. */
    void kill9() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException(name + " (pid " + process.pid() + ") survived SIGKILL for 30 s");
        }
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /**
     * Live instances per class in this JVM, after the full collection {@code jcmd <pid> GC.class_histogram}
     * runs first (so unreachable objects, and classes whose loader is gone, are not counted).
     */
    Map<String, Long> liveInstances() throws IOException, InterruptedException {
        String output = classHistogram();
        // "   1:   12345   678901  java.lang.String (java.base@17)": rank, instances, bytes, class.
        Map<String, Long> counts = new java.util.HashMap<>();
        for (String line : output.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && f[0].endsWith(":") && f[1].chars().allMatch(Character::isDigit)) {
                counts.merge(f[3], Long.parseLong(f[1]), Long::sum);
            }
        }
        return counts;
    }

    /** Bytes of live objects in this JVM's heap, after the full collection {@code jcmd GC.class_histogram} runs first. */
    long liveHeapBytes() throws IOException, InterruptedException {
        String output = classHistogram();
        // The histogram's last line: "Total   instances   bytes".
        for (String line : output.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 3 && f[0].equals("Total")) {
                return Long.parseLong(f[2]);
            }
        }
        throw new IllegalStateException("no Total line in jcmd " + process.pid() + " GC.class_histogram:\n" + output);
    }

    /** {@code jcmd <pid> GC.class_histogram}'s output: live objects per class after a full collection. */
    private String classHistogram() throws IOException, InterruptedException {
        Process jcmd = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
                String.valueOf(process.pid()), "GC.class_histogram").redirectErrorStream(true).start();
        String output = new String(jcmd.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (!jcmd.waitFor(60, TimeUnit.SECONDS) || jcmd.exitValue() != 0) {
            throw new IllegalStateException("jcmd " + process.pid() + " GC.class_histogram failed:\n" + output);
        }
        return output;
    }

    /** The child's classpath: this test JVM's, less what must come from the job jar or is test-only. */
    static String flinkClasspath() {
        String full = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> kept = new ArrayList<>();
        for (String entry : full.split(File.pathSeparator)) {
            String e = entry.replace('\\', '/');
            // The reactor's modules: target/classes, or (failsafe) the packaged jars, the shaded job jar among them.
            boolean project = e.contains("/io/flinkglm/") || e.contains("/target/");
            // The job jar brings its connector, Kafka client, runtime and Jackson: on the cluster's
            // classpath they would win over the jar's (Flink loads org.apache.flink.* parent-first).
            boolean jobJarsOwn = e.contains("/org/apache/kafka/") || e.contains("/flink-connector-kafka/")
                    || e.contains("/org/bytedeco/") || e.contains("/org/apache/avro/") || e.contains("/com/networknt/");
            boolean testOnly = e.contains("/org/junit/") || e.contains("/org/assertj/") || e.contains("/org/opentest4j/")
                    || e.contains("/surefire") || e.contains("/failsafe") || e.contains("/org/mockito/");
            if (!project && !jobJarsOwn && !testOnly && !e.isEmpty()) {
                kept.add(entry);
            }
        }
        return String.join(File.pathSeparator, kept);
    }
}
