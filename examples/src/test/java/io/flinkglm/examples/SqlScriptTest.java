package io.flinkglm.examples;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SqlScriptTest {

    @Test
    void placeholdersAreReplacedAndSetStatementsBecomeSettings() {
        SqlScript script = SqlScript.parse("SET 'execution.checkpointing.interval' = '5s';\n"
                + "CREATE TABLE t (a STRING) WITH ('properties.bootstrap.servers' = '${kafka.bootstrap-servers}');\n"
                + "INSERT INTO t SELECT 'x'", Map.of("kafka.bootstrap-servers", "127.0.0.1:9092"));

        assertThat(script.settings()).containsExactly(Map.entry("execution.checkpointing.interval", "5s"));
        assertThat(script.statements()).containsExactly(
                "CREATE TABLE t (a STRING) WITH ('properties.bootstrap.servers' = '127.0.0.1:9092')",
                "INSERT INTO t SELECT 'x'");
    }

    @Test
    void semicolonsInsideQuotesAndCommentsDoNotSplitStatements() {
        assertThat(SqlScript.split("SELECT 'a;b', 'it''s;' -- c; d\nFROM t; /* e; */ SELECT `x;y` FROM u;"))
                .containsExactly("SELECT 'a;b', 'it''s;' \nFROM t", "SELECT `x;y` FROM u");
    }

    @Test
    void anUnsetPlaceholderIsAnErrorNamingIt() {
        assertThatThrownBy(() -> SqlScript.parse("SELECT '${glm.model.path}'", Map.of()))
                .hasMessageContaining("${glm.model.path}").hasMessageContaining("--glm.model.path");
    }

    @Test
    void theExampleScriptsSplitIntoTheirStatements() throws Exception {
        Map<String, String> values = Map.of("kafka.bootstrap-servers", "b:9092", "glm.model.path", "/m");
        for (String name : new String[] {"chat.sql", "moderation.sql", "classify.sql"}) {
            SqlScript script = SqlScript.parse(Files.readString(Path.of("sql", name)), values);
            assertThat(script.settings()).as(name).containsKey("execution.checkpointing.interval");
            assertThat(script.statements()).as(name).anyMatch(s -> s.startsWith("CREATE TEMPORARY MODEL"))
                    .anyMatch(s -> s.startsWith("INSERT INTO")).noneMatch(s -> s.contains("${"));
        }
    }
}
