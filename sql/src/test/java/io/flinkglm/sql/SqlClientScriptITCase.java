package io.flinkglm.sql;

import io.flinkglm.runtime.model.DType;
import io.flinkglm.testkit.TinyModel;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.configuration.DeploymentOptions;
import org.apache.flink.table.client.SqlClientInMemory;
import org.apache.flink.table.gateway.SqlGateway;
import org.apache.flink.table.gateway.service.context.DefaultContext;
import org.apache.flink.table.gateway.service.session.SessionManager;
import org.apache.flink.util.NetUtils;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A SQL script run by Flink's own SQL client to a MiniCluster, with the provider on the classpath as a user's
 * {@code lib/} puts it: {@code CREATE MODEL} and {@code ML_PREDICT} answer as the engine alone does. Both of the
 * client's modes: embedded ({@code sql-client.sh -f script.sql}, the client starts its gateway in-process) and
 * gateway ({@code sql-client.sh gateway -e host:port -f script.sql}, against a running SQL gateway). The answers
 * are compared by a prefix of their MD5 (a SQL built-in): the tiny model's text is not printable and the tableau
 * view cuts a column at 30 characters.
 */
class SqlClientScriptITCase {
    private static final int MAX_TOKENS = 6;

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(1).build());

    @TempDir
    Path dir;

    @Test
    void aScriptRunByTheEmbeddedSqlClientAnswersWithTheGlmProvider() throws Exception {
        Path model = TinyModel.write(dir.resolve("tiny"), DType.BF16, 16);
        Configuration cluster = CLUSTER.getClientConfiguration();
        // What a user's config.yaml would say about the session cluster, here as the client's -D options.
        String printed = SqlClientInMemory.run("embedded",
                "-D", DeploymentOptions.TARGET.key() + "=remote",
                "-D", RestOptions.ADDRESS.key() + "=" + cluster.get(RestOptions.ADDRESS),
                "-D", RestOptions.PORT.key() + "=" + cluster.get(RestOptions.PORT),
                "-f", script(model).toUri().toString(), "-hist", dir.resolve("history").toString());

        assertAnsweredAsTheEngineAlone(printed, model);
    }

    @Test
    void aScriptRunByTheSqlClientThroughAGatewayAnswersWithTheGlmProvider() throws Exception {
        Path model = TinyModel.write(dir.resolve("tiny"), DType.BF16, 16);
        Path script = script(model);
        Configuration gatewayConfig = new Configuration(CLUSTER.getClientConfiguration());
        gatewayConfig.set(DeploymentOptions.TARGET, "remote");
        String printed;
        try (NetUtils.Port port = NetUtils.getAvailablePort()) {
            gatewayConfig.setString("sql-gateway.endpoint.rest.address", "localhost");
            gatewayConfig.setString("sql-gateway.endpoint.rest.port", String.valueOf(port.getPort()));
            SqlGateway gateway = new SqlGateway(gatewayConfig,
                    SessionManager.create(DefaultContext.load(gatewayConfig, List.of(), true)));
            gateway.start();
            try {
                printed = SqlClientInMemory.run("gateway", "-e", "localhost:" + port.getPort(),
                        "-f", script.toUri().toString(), "-hist", dir.resolve("history").toString());
            } finally {
                gateway.stop();
            }
        }

        assertAnsweredAsTheEngineAlone(printed, model);
    }

    private Path script(Path model) throws Exception {
        return Files.writeString(dir.resolve("chat.sql"), String.join("\n",
                "SET 'sql-client.execution.result-mode' = 'tableau';",
                "CREATE TEMPORARY MODEL chat INPUT (prompt STRING) OUTPUT (response STRING, completion_tokens INT)",
                "  WITH ('provider' = 'glm', 'model.path' = '" + model + "', 'backend' = 'cpu', 'task' = 'chat',",
                "        'max-tokens' = '" + MAX_TOKENS + "', 'kv-cache-bytes' = '16mb');",
                "CREATE TEMPORARY VIEW prompts AS SELECT id, CAST(prompt AS STRING) AS prompt",
                "  FROM (VALUES (1, 'hello there'), (2, 'tell me a story')) AS t(id, prompt);",
                "SELECT id, completion_tokens, SUBSTR(MD5(response), 1, 24) AS digest",
                "  FROM ML_PREDICT(TABLE prompts, MODEL chat, DESCRIPTOR(prompt));",
                ""));
    }

    private static void assertAnsweredAsTheEngineAlone(String printed, Path model) throws Exception {
        try (EngineAlone reference = new EngineAlone(model)) {
            assertThat(printed).doesNotContain("[ERROR]")
                    .contains(md5(reference.chat("hello there", 0, 0, MAX_TOKENS)))
                    .contains(md5(reference.chat("tell me a story", 0, 0, MAX_TOKENS)))
                    .contains("Received a total of 2 rows");
        }
    }

    /** The first 24 hex digits of the text's MD5, as {@code SUBSTR(MD5(text), 1, 24)}. */
    private static String md5(String text) throws Exception {
        byte[] digest = MessageDigest.getInstance("MD5").digest(text.getBytes(StandardCharsets.UTF_8));
        return String.format("%032x", new BigInteger(1, digest)).substring(0, 24);
    }
}
