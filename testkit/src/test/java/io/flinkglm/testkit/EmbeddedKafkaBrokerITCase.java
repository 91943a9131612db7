package io.flinkglm.testkit;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class EmbeddedKafkaBrokerITCase {

    @Test
    void transactionsWorkOnLoopbackAndCloseDeletesTheLogDir() throws Exception {
        Path logDir;
        List<String> committedValues = new ArrayList<>();
        try (EmbeddedKafkaBroker kafka = EmbeddedKafkaBroker.start()) {
            logDir = kafka.logDir();
            kafka.createTopic("tx", 1);
            try (var producer = new KafkaProducer<String, String>(Map.of(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                    ProducerConfig.TRANSACTIONAL_ID_CONFIG, "tx-test",
                    ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                    ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class))) {
                producer.initTransactions();
                producer.beginTransaction();
                producer.send(new ProducerRecord<>("tx", "aborted"));
                producer.abortTransaction();
                producer.beginTransaction();
                producer.send(new ProducerRecord<>("tx", "committed"));
                producer.commitTransaction();
            }
            committedValues.addAll(CommittedRecords.read(kafka.clientProperties(), "tx",
                    value -> new String(value, UTF_8), Duration.ofSeconds(30)));
            assertThat(kafka.bootstrapServers()).startsWith("127.0.0.1:");
        }

        assertThat(committedValues).containsExactly("committed");
        assertThat(logDir).doesNotExist();
    }
}
