package io.flinkglm.testkit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.runtime.model.DType;
import java.util.List;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KafkaMiniClusterExtensionITCase {

    @RegisterExtension
    static final KafkaMiniClusterExtension KAFKA = KafkaMiniClusterExtension.withSlots(1).withTinyModel(DType.F32, 7);

    private static String firstRunsTopic;

    @Test
    void aTopicReadsBackWhatWasProducedAndJobsRunOnTheMiniCluster() throws Exception {
        String topic = KAFKA.topic("values");
        KAFKA.produce(List.of(new ProducerRecord<>(topic, 0, null, "a".getBytes(UTF_8)),
                new ProducerRecord<>(topic, 1, null, "b".getBytes(UTF_8))));

        List<String> values = KAFKA.readCommitted(topic, value -> new String(value, UTF_8));

        assertThat(values).containsExactlyInAnyOrder("a", "b");
        try (var admin = KAFKA.broker().admin()) {
            assertThat(admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions())
                    .hasSize(KafkaMiniClusterExtension.DEFAULT_PARTITIONS);
        }
        try (var numbers = StreamExecutionEnvironment.getExecutionEnvironment().fromData(1, 2, 3).executeAndCollect()) {
            assertThat(numbers).toIterable().containsExactly(1, 2, 3);
        }
        assertThat(TinyModel.isPresent(KAFKA.model())).isTrue();
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void everyTestRunGetsNamesOfItsOwn(int run) {
        String topic = KAFKA.name("prompts");

        assertThat(topic).endsWith(".prompts").contains("everyTestRunGetsNamesOfItsOwn");
        if (run == 1) {
            firstRunsTopic = topic;
        } else {
            assertThat(topic).isNotEqualTo(firstRunsTopic);
        }
    }
}
