package io.flinkglm.examples;

import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.DeploymentOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.StatementSet;
import org.apache.flink.table.api.TableResult;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Runs a Flink SQL script as one job, the way {@code examples/sql/*.sql} are meant to run on a cluster:
 * {@code ${name}} placeholders are replaced by the {@code --name value} arguments ({@code ${kafka.bootstrap-servers}},
 * {@code ${glm.model.path}}), {@code SET} statements configure the job, DDL runs as it comes, and every
 * {@code INSERT} is submitted together as one statement set, so all of a script's sinks share one job and its
 * checkpoints (which commit the exactly-once Kafka sinks).
 *
 * <pre>{@code
 * flink run -c io.flinkglm.examples.SqlJob flink-glm-examples.jar --file moderation.sql \
 *     --kafka.bootstrap-servers kafka:9092 --glm.model.path /models/glm-4-9b-chat-hf
 * }</pre>
 *
 * <p>The job jar carries the {@code glm} model provider and the Kafka SQL connector; the cluster provides the
 * planner and the JSON format (both in a Flink distribution's {@code lib/}).
 *
 * <p>Submitted attached ({@code flink run}), {@code main} returns when the job ends, as a DataStream job's
 * {@code execute} does; detached ({@code flink run -d}), it returns once the job is submitted, so an unbounded
 * script does not hold the client.
 */
@Internal
public final class SqlJob {
    private SqlJob() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> values = JobArguments.pairs(args);
        String file = values.remove("file");
        if (file == null) {
            throw new IllegalArgumentException("usage: SqlJob --file JOB.sql [--kafka.bootstrap-servers HOST:PORT]"
                    + " [--glm.model.path DIR] [--NAME VALUE for every other ${NAME} in the script]");
        }
        SqlScript script = SqlScript.parse(Files.readString(Path.of(file)), values);
        StreamExecutionEnvironment env = environment(script, new Configuration());
        Optional<TableResult> result = run(script, env);
        if (result.isPresent() && waitsForTheJob(env.getConfiguration())) {
            await(result.get());
        }
    }

    /**
     * Submits the script; the result of its statement set, if it has INSERTs. {@code base} is the environment's
     * configuration before the script's SET statements (the demo's restart strategy, say).
     */
    public static Optional<TableResult> run(SqlScript script, Configuration base) {
        return run(script, environment(script, base));
    }

    /**
     * Whether {@code main} waits for the job, by Flink's convention ({@code StreamContextEnvironment#execute}):
     * {@code flink run} says {@code execution.attached} ({@code false} with {@code -d}); run outside the CLI (an
     * IDE, a local environment), where nothing sets it, the job runs in this JVM and is waited for.
     */
    private static boolean waitsForTheJob(ReadableConfig config) {
        return config.getOptional(DeploymentOptions.ATTACHED).orElse(true);
    }

    /** The environment {@code flink run} provides (or a local one), configured by {@code base} and the script's SETs. */
    private static StreamExecutionEnvironment environment(SqlScript script, Configuration base) {
        Configuration config = new Configuration(base);
        config.addAll(Configuration.fromMap(script.settings()));
        return StreamExecutionEnvironment.getExecutionEnvironment(config);
    }

    private static Optional<TableResult> run(SqlScript script, StreamExecutionEnvironment env) {
        StreamTableEnvironment sql = StreamTableEnvironment.create(env);
        StatementSet inserts = sql.createStatementSet();
        boolean any = false;
        for (String statement : script.statements()) {
            if (statement.toUpperCase(Locale.ROOT).startsWith("INSERT")) {
                inserts.addInsertSql(statement);
                any = true;
            } else {
                sql.executeSql(statement);
            }
        }
        return any ? Optional.of(inserts.execute()) : Optional.empty();
    }

    /** Waits for a bounded job to finish (an unbounded one runs until cancelled), failing with the job. */
    public static void await(TableResult result) {
        try {
            result.await();
        } catch (Exception e) {
            throw new IllegalStateException("the SQL job failed: " + e.getMessage(), e);
        }
    }
}
