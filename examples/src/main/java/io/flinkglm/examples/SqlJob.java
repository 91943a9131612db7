package io.flinkglm.examples;

import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.Configuration;
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
        run(SqlScript.parse(Files.readString(Path.of(file)), values), new Configuration())
                .ifPresent(SqlJob::await);
    }

    /**
     * Submits the script; the result of its statement set, if it has INSERTs. {@code base} is the environment's
     * configuration before the script's SET statements (the demo's restart strategy, say).
     */
    public static Optional<TableResult> run(SqlScript script, Configuration base) {
        Configuration config = new Configuration(base);
        config.addAll(Configuration.fromMap(script.settings()));
        StreamTableEnvironment sql = StreamTableEnvironment.create(StreamExecutionEnvironment.getExecutionEnvironment(config));
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
