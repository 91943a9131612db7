package org.apache.flink.table.client;

import org.apache.flink.table.client.cli.TerminalUtils;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Flink's SQL client as {@code bin/sql-client.sh} starts it, with its terminal written to memory. In Flink's package because {@link SqlClient#startClient} (the entry {@code main} calls with the
 * system terminal) is protected; Flink's own {@code SqlClientTest} calls it the same way.
 */
public final class SqlClientInMemory {
    private SqlClientInMemory() {}

    /** Runs the client with these command-line arguments and returns what it printed. */
    public static String run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SqlClient.startClient(args, () -> TerminalUtils.createDumbTerminal(out));
        return out.toString(StandardCharsets.UTF_8);
    }
}
