package io.flinkglm.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkglm.connectors.kafka.KafkaConnectorOptions;
import io.flinkglm.operator.GlmOptions;
import java.time.Duration;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

class JobArgumentsTest {

    @Test
    void optionsOfTheOperatorTheConnectorsAndTheJobsAreParsedToTheirTypes() {
        Configuration config = JobArguments.parse(new String[] {
            "--glm.model.path", "/models/glm4",
            "--glm.capacity", "32",
            "--glm.kafka.bootstrap-servers", "kafka:9092",
            "--glm.job.checkpoint-interval", "30s"});

        assertThat(config.get(GlmOptions.MODEL_PATH)).isEqualTo("/models/glm4");
        assertThat(config.get(GlmOptions.CAPACITY)).isEqualTo(32);
        assertThat(config.get(KafkaConnectorOptions.BOOTSTRAP_SERVERS)).isEqualTo("kafka:9092");
        assertThat(config.get(JobOptions.CHECKPOINT_INTERVAL)).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void anUnknownKeyIsAnErrorListingTheKnownOnes() {
        assertThatThrownBy(() -> JobArguments.parse(new String[] {"--glm.modle.path", "/m"}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown option --glm.modle.path")
                .hasMessageContaining("--glm.model.path")
                .hasMessageContaining("--glm.kafka.topic.prompts (default glm.prompts)")
                .hasMessageContaining("--glm.job.bounded");
    }

    @Test
    void aValueOfTheWrongTypeNamesItsOption() {
        assertThatThrownBy(() -> JobArguments.parse(new String[] {"--glm.capacity", "many"}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("--glm.capacity \"many\" is not a valid value (e.g. 16)");
    }

    @Test
    void aKeyWithoutValueOrAValueWithoutKeyIsAnError() {
        assertThatThrownBy(() -> JobArguments.parse(new String[] {"--glm.capacity"}))
                .hasMessage("--glm.capacity has no value");
        assertThatThrownBy(() -> JobArguments.parse(new String[] {"glm.capacity", "4"}))
                .hasMessageStartingWith("expected --key value pairs, but argument 1 is \"glm.capacity\"");
    }

    @Test
    void kafkaClientPropertiesPassThroughUnderGlmKafkaProperties() {
        Configuration config = JobArguments.parse(new String[] {
            "--glm.kafka.properties.security.protocol", "SASL_SSL",
            "--glm.kafka.properties.sasl.mechanism", "SCRAM-SHA-512",
            "--glm.kafka.properties.max.partition.fetch.bytes", "2097152"});

        assertThat(KafkaConnectorOptions.kafkaProperties(config)).containsExactlyInAnyOrderEntriesOf(Map.of(
                "security.protocol", "SASL_SSL", "sasl.mechanism", "SCRAM-SHA-512", "max.partition.fetch.bytes", "2097152"));
    }

    @Test
    void aClientPropertyWithAnOptionOfItsOwnIsAnErrorNamingTheOption() {
        assertThatThrownBy(() -> JobArguments.parse(new String[] {"--glm.kafka.properties.bootstrap.servers", "k:9092"}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("set glm.kafka.bootstrap-servers instead");
        assertThatThrownBy(() -> JobArguments.parse(new String[] {"--glm.kafka.properties.", "x"}))
                .hasMessageContaining("needs a Kafka client property after it");
    }

    @Test
    void theUsageNamesThePassThroughPrefix() {
        assertThat(JobArguments.usage()).contains("--glm.kafka.properties.<kafka client property>");
    }
}
