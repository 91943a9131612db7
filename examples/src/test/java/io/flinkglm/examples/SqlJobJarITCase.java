package io.flinkglm.examples;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;

/**
 * What {@code flink run -c io.flinkglm.examples.SqlJob flink-glm-examples.jar --file job.sql} finds in the shaded
 * job jar (built in {@code package}, before the ITCases): the {@code glm} model provider and Flink's Kafka SQL
 * connector, both registered as table factories, since a Flink distribution's {@code lib/} has no Kafka connector;
 * and not the planner, the Table API or the JSON format, which {@code lib/} does have and which Flink loads
 * parent-first, so copies in the job jar would be dead weight at best.
 */
class SqlJobJarITCase {

    private static final Path JOB_JAR = Path.of("target", "flink-glm-examples.jar");
    private static final String FACTORIES = "META-INF/services/org.apache.flink.table.factories.Factory";

    @Test
    void theJobJarRegistersTheGlmProviderAndTheKafkaSqlConnectorAndLeavesTheJsonFormatToTheCluster() throws Exception {
        assertThat(JOB_JAR).as("the shaded job jar; mvn verify builds it in package, before the ITCases").exists();
        try (JarFile jar = new JarFile(JOB_JAR.toFile())) {
            ZipEntry services = jar.getEntry(FACTORIES);
            assertThat(services).as(FACTORIES).isNotNull();
            List<String> factories = new String(jar.getInputStream(services).readAllBytes(), UTF_8).lines()
                    .map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();

            assertThat(factories).contains("io.flinkglm.sql.GlmModelProviderFactory",
                    "org.apache.flink.streaming.connectors.kafka.table.KafkaDynamicTableFactory");
            for (String factory : factories) {
                assertThat(jar.getEntry(factory.replace('.', '/') + ".class")).as("%s's class", factory).isNotNull();
            }
            assertThat(factories).noneMatch(f -> f.startsWith("org.apache.flink.formats.json."));
            assertThat(jar.stream().map(ZipEntry::getName))
                    .noneMatch(n -> n.startsWith("org/apache/flink/formats/json/")
                            || n.startsWith("org/apache/flink/table/api/")
                            || n.startsWith("org/apache/flink/table/planner/"));
        }
    }
}
