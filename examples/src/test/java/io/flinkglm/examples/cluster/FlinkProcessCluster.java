package io.flinkglm.examples.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A standalone Flink session cluster of separate JVMs on 127.0.0.1: one JobManager
 * ({@code StandaloneSessionClusterEntrypoint}) and TaskManagers ({@code TaskManagerRunner}), started from
 * the Flink jars the build has already resolved (flink-dist is not on Maven Central) with a generated
 * {@code config.yaml}. Jobs go in through Flink's own {@code CliFrontend} ({@code flink run -d}), run as
 * a child JVM with the shaded job jar, as a user would; everything else through the REST API.
 *
 * <p>As a JUnit extension ({@code @RegisterExtension static}) it starts before the class's tests and
 * kills every child after them; {@link ChildJvm}'s shutdown hook covers an aborted run.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final FlinkProcessCluster CLUSTER = new FlinkProcessCluster(2);
 * String jobId = CLUSTER.submit(jar, "io.flinkglm.examples.ChatWithToolsJob", args);
 * CLUSTER.killTaskManager(0);   // kill -9
 * CLUSTER.replaceTaskManager(0);
 * }</pre>
 */
public final class FlinkProcessCluster implements BeforeAllCallback, AfterAllCallback, AutoCloseable {
    private static final Duration START_DEADLINE = Duration.ofSeconds(90);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The JVM options of every child: Flink reflects into java.base; the kernels want the Vector API. */
    private static final List<String> JVM_OPTIONS = List.of("--add-modules", "jdk.incubator.vector",
            "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.util=ALL-UNNAMED",
            "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-opens=java.base/java.net=ALL-UNNAMED", "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED", "--add-opens=java.base/java.time=ALL-UNNAMED",
            "--add-opens=java.base/java.text=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

    private final int taskManagers;
    private final Map<String, String> extraConfig;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final List<ChildJvm> tms = new ArrayList<>();
    private Path dir;
    private String classpath;
    private int restPort;
    private ChildJvm jobManager;
    private int tmStarts;
    private String taskManagerHeap = "-Xmx480m";

    /**
     * @param taskManagers TaskManagers of one slot each
     * @param extraConfig  further {@code config.yaml} entries (flattened keys)
     */
    public FlinkProcessCluster(int taskManagers, Map<String, String> extraConfig) {
        this.taskManagers = taskManagers;
        this.extraConfig = extraConfig;
    }

    /**
     * Gives the TaskManagers started from now on a JVM heap of {@code megabytes} instead of 480 MB: for tests
     * that size it to what a job must fit in. Call before the cluster starts to cover every TaskManager.
     */
    public FlinkProcessCluster withTaskManagerHeap(long megabytes) {
        this.taskManagerHeap = "-Xmx" + megabytes + "m";
        return this;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        start(Files.createTempDirectory("flink-process-cluster"));
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close();
    }

    /** Writes the configuration into {@code dir}, starts the JobManager and waits for every TaskManager to register. */
    public void start(Path dir) throws Exception {
        this.dir = dir;
        this.classpath = ChildJvm.flinkClasspath();
        this.restPort = freePort();
        int rpcPort = freePort();
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("jobmanager.rpc.address", "127.0.0.1");
        conf.put("jobmanager.rpc.port", String.valueOf(rpcPort));
        conf.put("jobmanager.bind-host", "127.0.0.1");
        conf.put("rest.address", "127.0.0.1");
        conf.put("rest.bind-address", "127.0.0.1");
        conf.put("rest.port", String.valueOf(restPort));
        conf.put("taskmanager.host", "127.0.0.1");
        conf.put("taskmanager.bind-host", "127.0.0.1");
        conf.put("taskmanager.numberOfTaskSlots", "1");
        conf.put("jobmanager.memory.process.size", "640m");
        // What flink-dist's scripts would compute and pass to TaskManagerRunner (BashJavaUtils): without
        // the scripts, the TaskManager needs its resources spelled out.
        conf.put("taskmanager.cpu.cores", "1");
        conf.put("taskmanager.memory.framework.heap.size", "128m");
        conf.put("taskmanager.memory.task.heap.size", "256m");
        conf.put("taskmanager.memory.framework.off-heap.size", "128m");
        conf.put("taskmanager.memory.task.off-heap.size", "0m");
        conf.put("taskmanager.memory.managed.size", "16m");
        conf.put("taskmanager.memory.network.min", "32m");
        conf.put("taskmanager.memory.network.max", "32m");
        conf.put("taskmanager.memory.jvm-metaspace.size", "192m");
        conf.put("taskmanager.memory.jvm-overhead.min", "192m");
        conf.put("taskmanager.memory.jvm-overhead.max", "192m");
        conf.put("taskmanager.memory.flink.size", "560m");
        conf.put("taskmanager.memory.process.size", "944m");
        // A killed TaskManager is noticed when its heartbeats stop: seconds, not the 50 s default.
        conf.put("heartbeat.interval", "500");
        conf.put("heartbeat.timeout", "4000");
        conf.put("io.tmp.dirs", dir.resolve("tmp").toString());
        conf.put("execution.checkpointing.dir", dir.resolve("checkpoints").toUri().toString());
        conf.put("web.submit.enable", "false");
        conf.putAll(extraConfig);
        Files.createDirectories(dir.resolve("tmp"));
        StringBuilder yaml = new StringBuilder();
        conf.forEach((k, v) -> yaml.append(k).append(": ").append(v).append('\n'));
        Files.writeString(dir.resolve("config.yaml"), yaml);
        Files.writeString(dir.resolve("log4j.properties"), """
                rootLogger.level = INFO
                rootLogger.appenderRef.file.ref = file
                appender.file.type = File
                appender.file.name = file
                appender.file.fileName = ${sys:log.file}
                appender.file.layout.type = PatternLayout
                appender.file.layout.pattern = %d{HH:mm:ss,SSS} %-5p %-40c{1.} [%t] %m%n
                """);

        jobManager = startJvm("jobmanager", "-Xmx400m",
                "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint", List.of());
        awaitUntil("the JobManager's REST API answers", () -> get("/overview") != null);
        for (int i = 0; i < taskManagers; i++) {
            tms.add(startTaskManager());
        }
        awaitRegisteredTaskManagers(taskManagers);
    }

    public Path dir() {
        return dir;
    }

    /** TaskManager {@code index}'s id in the REST API (its resource id). */
    public String taskManagerId(int index) {
        return tms.get(index).name;
    }

    /** TaskManager {@code index}'s Flink log (log4j's file appender). */
    public Path taskManagerLog(int index) {
        return dir.resolve(taskManagerId(index) + ".log");
    }

    /** TaskManager {@code index}'s JVM, for what the REST API does not show (its heap's live objects). */
    ChildJvm taskManager(int index) {
        return tms.get(index);
    }

    /** The names of TaskManager {@code index}'s live threads, from its thread dump in the REST API. */
    public List<String> threadNames(int index) throws Exception {
        JsonNode dump = get("/taskmanagers/" + taskManagerId(index) + "/thread-dump");
        if (dump == null) {
            throw new IllegalStateException("no thread dump of " + taskManagerId(index) + "; see " + dir);
        }
        List<String> names = new ArrayList<>();
        dump.path("threadInfos").forEach(t -> names.add(t.path("threadName").asText()));
        return names;
    }

    /**
     * TaskManager {@code index}'s metrics by name, as the REST API serves them: from the JobManager's
     * metric fetcher, so up to {@code metrics.fetcher.update-interval} old. Absent ones are left out.
     */
    public Map<String, Long> metrics(int index, String... names) throws Exception {
        JsonNode values = get("/taskmanagers/" + taskManagerId(index) + "/metrics?get=" + String.join(",", names));
        Map<String, Long> out = new LinkedHashMap<>();
        if (values != null) {
            values.forEach(m -> out.put(m.path("id").asText(), (long) Double.parseDouble(m.path("value").asText())));
        }
        return out;
    }

    /** Kills TaskManager {@code index} with SIGKILL: no deregistration, its slots vanish mid-checkpoint. */
    public void killTaskManager(int index) throws InterruptedException {
        tms.get(index).kill9();
    }

    /** Starts a fresh TaskManager in the place of {@code index} (killed or not) and waits until it registers. */
    public void replaceTaskManager(int index) throws Exception {
        if (tms.get(index).isAlive()) {
            tms.get(index).kill9();
        }
        tms.set(index, startTaskManager());
        awaitUntil("TaskManager " + tms.get(index).name + " registers", () -> registeredTaskManagers()
                .contains(tms.get(index).name));
    }

    /**
     * Submits {@code jar} detached through {@code CliFrontend}, as {@code flink run -d -c main jar args} does.
     *
     * @return the job id the CLI printed
     */
    public String submit(Path jar, String main, List<String> args) throws Exception {
        return flinkRun(true, jar, main, args);
    }

    /**
     * Runs {@code jar} attached through {@code CliFrontend}, as {@code flink run -c main jar args} does: the
     * client returns once {@code main} does, which for a job that waits for its result is when the job ended.
     *
     * @return the job id the CLI printed
     */
    public String runAttached(Path jar, String main, List<String> args) throws Exception {
        return flinkRun(false, jar, main, args);
    }

    private String flinkRun(boolean detached, Path jar, String main, List<String> args) throws Exception {
        List<String> cli = new ArrayList<>(List.of("run"));
        if (detached) {
            cli.add("-d");
        }
        cli.addAll(List.of("-c", main, jar.toAbsolutePath().toString()));
        cli.addAll(args);
        ChildJvm client = ChildJvm.start("cli-" + System.nanoTime(), dir, withLog("client", List.of("-Xmx256m")),
                classpath, "org.apache.flink.client.cli.CliFrontend", cli, Map.of("FLINK_CONF_DIR", dir.toString()));
        if (!client.process.waitFor(START_DEADLINE.toSeconds(), TimeUnit.SECONDS)) {
            client.kill9();
            throw new IllegalStateException("flink run" + (detached ? " -d" : "") + " did not return in "
                    + START_DEADLINE + "; see " + client.log);
        }
        String output = Files.readString(client.log);
        Matcher id = Pattern.compile("JobID ([0-9a-f]{32})").matcher(output);
        if (client.process.exitValue() != 0 || !id.find()) {
            throw new IllegalStateException("flink run exited with " + client.process.exitValue() + ":\n" + output);
        }
        return id.group(1);
    }

    /**
     * Runs {@code script} through Flink's SQL client in embedded mode, as {@code bin/sql-client.sh -j jar -f script}
     * does: a child JVM of the cluster's Flink jars plus {@code clientJars} (what a distribution's {@code opt/}
     * adds for the client: flink-sql-client, the SQL gateway, flink-python), the cluster's {@code config.yaml} as
     * its {@code FLINK_CONF_DIR}, and the cluster's REST address as {@code -D} options, as a user's would say.
     * Whatever the script needs beyond Flink (connectors, model providers) must come from {@code jar}.
     *
     * @return what the client printed
     */
    public String sqlClient(List<Path> clientJars, Path jar, Path script) throws Exception {
        List<String> cp = new ArrayList<>(List.of(classpath));
        clientJars.forEach(j -> cp.add(j.toAbsolutePath().toString()));
        List<String> args = List.of("-j", jar.toAbsolutePath().toString(), "-f", script.toAbsolutePath().toString(),
                "-hist", dir.resolve("sql-client-history").toString(), "-D", "execution.target=remote",
                "-D", "rest.address=127.0.0.1", "-D", "rest.port=" + restPort);
        ChildJvm client = ChildJvm.start("sql-client-" + System.nanoTime(), dir, withLog("sql-client",
                List.of("-Xmx384m")), String.join(File.pathSeparator, cp),
                "org.apache.flink.table.client.SqlClient", args, Map.of("FLINK_CONF_DIR", dir.toString()));
        if (!client.process.waitFor(START_DEADLINE.toSeconds(), TimeUnit.SECONDS)) {
            client.kill9();
            throw new IllegalStateException("sql-client.sh -f did not return in " + START_DEADLINE + "; see " + client.log);
        }
        String output = Files.readString(client.log);
        if (client.process.exitValue() != 0 || output.contains("[ERROR]")) {
            throw new IllegalStateException("sql-client.sh -f exited with " + client.process.exitValue() + ":\n" + output);
        }
        return output;
    }

    /** The job's state as the JobManager reports it (RUNNING, RESTARTING, FINISHED, ...). */
    public String jobState(String jobId) throws Exception {
        JsonNode job = get("/jobs/" + jobId);
        return job == null ? "UNKNOWN" : job.path("state").asText();
    }

    /**
     * How many failures the job has had: its exception history's entries (each failure that led to a
     * restart is one). The {@code numRestarts} metric would do, but the REST metric fetcher serves it
     * up to 10 s stale.
     */
    public int failures(String jobId) throws Exception {
        JsonNode exceptions = get("/jobs/" + jobId + "/exceptions");
        return exceptions == null ? 0 : exceptions.path("exceptionHistory").path("entries").size();
    }

    public void awaitJobState(String jobId, String state) throws Exception {
        awaitUntil("job " + jobId + " " + state, () -> state.equals(jobState(jobId)));
    }

    /** Cancels the job and waits until it is CANCELED. */
    public void cancel(String jobId) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri("/jobs/" + jobId + "?mode=cancel"))
                .method("PATCH", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new IllegalStateException("cancel of " + jobId + " answered " + r.statusCode() + ": " + r.body());
        }
        awaitJobState(jobId, "CANCELED");
    }

    /** GET on the REST API: the JSON body, or null when the JobManager does not answer (yet). */
    public JsonNode get(String path) throws Exception {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** Polls {@code condition} until it holds; fails naming {@code what} and the logs to read. */
    public void awaitUntil(String what, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + START_DEADLINE.toNanos();
        while (!condition.call()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(what + ": not within " + START_DEADLINE + "; the logs are in " + dir);
            }
            if (!jobManager.isAlive()) {
                throw new IllegalStateException(what + ": the JobManager died; see " + jobManager.log);
            }
            Thread.sleep(100); // polling interval; the condition decides
        }
    }

    /** Kills every child (SIGKILL: the state is thrown away with the directory anyway). */
    @Override
    public void close() {
        for (ChildJvm tm : tms) {
            killQuietly(tm);
        }
        if (jobManager != null) {
            killQuietly(jobManager);
        }
    }

    private static void killQuietly(ChildJvm child) {
        try {
            child.kill9();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private ChildJvm startTaskManager() throws IOException {
        String name = "taskmanager-" + tmStarts++;
        return startJvm(name, taskManagerHeap, "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
                List.of("-Dtaskmanager.resource-id=" + name));
    }

    private ChildJvm startJvm(String name, String heap, String main, List<String> dynamicProperties) throws IOException {
        List<String> args = new ArrayList<>(List.of("--configDir", dir.toString()));
        args.addAll(dynamicProperties);
        return ChildJvm.start(name, dir, withLog(name, List.of(heap, "-XX:MaxMetaspaceSize=192m")), classpath, main,
                args, Map.of());
    }

    private List<String> withLog(String name, List<String> options) {
        List<String> all = new ArrayList<>(JVM_OPTIONS);
        all.addAll(options);
        all.add("-Dlog.file=" + dir.resolve(name + ".log"));
        all.add("-Dlog4j.configurationFile=" + dir.resolve("log4j.properties").toUri());
        return all;
    }

    private void awaitRegisteredTaskManagers(int count) throws Exception {
        awaitUntil(count + " TaskManagers register", () -> {
            for (ChildJvm tm : tms) {
                if (!tm.isAlive()) {
                    throw new IllegalStateException(tm.name + " exited; see " + dir.resolve(tm.name + ".log"));
                }
            }
            return registeredTaskManagers().size() >= count;
        });
    }

    /** The resource ids of the TaskManagers registered with the JobManager now. */
    public List<String> registeredTaskManagers() throws Exception {
        JsonNode tmList = get("/taskmanagers");
        List<String> ids = new ArrayList<>();
        if (tmList != null) {
            tmList.path("taskmanagers").forEach(tm -> ids.add(tm.path("id").asText()));
        }
        return ids;
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + restPort + path);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
