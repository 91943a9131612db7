package io.flinkglm.connectors.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkglm.connectors.formats.AvroSerdeOptions;
import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.SchemaIdFraming;
import io.flinkglm.connectors.registry.SubjectNameStrategy;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Origin;
import io.flinkglm.records.Decoded;
import io.flinkglm.records.Prompt;
import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import io.flinkglm.connectors.testing.SampleRecords;
import org.junit.jupiter.api.Test;

class RecordKafkaBuildersTest {

    @Test
    void sourceNeedsBootstrapServers() {
        assertThatThrownBy(() -> RecordKafkaSource.prompts().setTopics("p").build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("glm.kafka.bootstrap-servers");
    }

    @Test
    void sourceNeedsATopic() {
        assertThatThrownBy(() -> RecordKafkaSource.prompts().setBootstrapServers("k:9092").build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("setTopics");
    }

    @Test
    void avroNeedsASchemaRegistry() {
        assertThatThrownBy(() -> RecordKafkaSink.completions()
                        .setBootstrapServers("k:9092").setTopic("c").setFormat(RecordFormat.AVRO).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("setSchemaRegistryUrl");
    }

    @Test
    void exactlyOnceIsTheDefaultAndNeedsATransactionalIdPrefix() {
        assertThatThrownBy(() -> RecordKafkaSink.completions().setBootstrapServers("k:9092").setTopic("c").build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("EXACTLY_ONCE needs a transactional id prefix");
    }

    @Test
    void atLeastOnceNeedsNoTransactionalIdPrefix() {
        assertThat(RecordKafkaSink.completions().setBootstrapServers("k:9092").setTopic("c")
                        .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE).build())
                .isNotNull();
    }

    @Test
    void settersRejectBlankAndNonHttpValues() {
        assertThatThrownBy(() -> RecordKafkaSource.prompts().setBootstrapServers(" "))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RecordKafkaSource.prompts().setSchemaRegistryUrl("kafka:9092"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("http(s)://");
        assertThatThrownBy(() -> RecordKafkaSource.prompts().setMaxRecordBytes(0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void configurationFillsTopicsAndPerSinkTransactionalIds() {
        Configuration conf = new Configuration();
        conf.set(KafkaConnectorOptions.BOOTSTRAP_SERVERS, "k:9092");

        assertThat(RecordKafkaSource.prompts().configure(conf).build()).isNotNull();
        assertThat(RecordKafkaSink.completions().configure(conf).build()).isNotNull();
        assertThat(RecordKafkaSink.deadLetters().configure(conf).build()).isNotNull();
    }

    @Test
    void configurationFillsTheSchemaRegistryOptionsTogether() {
        Configuration conf = new Configuration();
        conf.set(KafkaConnectorOptions.SCHEMA_REGISTRY_AUTO_REGISTER, false);
        conf.set(KafkaConnectorOptions.SCHEMA_REGISTRY_SCHEMA_VERSION, 3);
        conf.set(KafkaConnectorOptions.SCHEMA_REGISTRY_VALUE_SUBJECT_NAME_STRATEGY, SubjectNameStrategy.TOPIC_RECORD);
        conf.set(KafkaConnectorOptions.SCHEMA_REGISTRY_SCHEMA_ID_FRAMING, SchemaIdFraming.HEADER);

        assertThat(RecordKafkaSink.completions().configure(conf).avroOptions())
                .isEqualTo(new AvroSerdeOptions(false, false, 3, SubjectNameStrategy.TOPIC_RECORD, SchemaIdFraming.HEADER));
        assertThat(RecordKafkaSource.prompts().avroOptions()).isEqualTo(AvroSerdeOptions.DEFAULTS);
    }

    @Test
    void useLatestVersionWhileAutoRegisteringIsRefusedNamingTheOption() {
        Configuration conf = new Configuration();
        conf.set(KafkaConnectorOptions.SCHEMA_REGISTRY_USE_LATEST_VERSION, true);

        assertThatThrownBy(() -> RecordKafkaSink.completions().configure(conf))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("glm.kafka.schema-registry.auto-register=false");
    }

    @Test
    void decodedIsAFlinkPojoNotAKryoGeneric() throws Exception {
        TypeInformation<Decoded<Prompt>> type = DecodingDeserializationSchema.decodedType(Prompt.class);
        TypeSerializer<Decoded<Prompt>> serializer = type.createSerializer(new SerializerConfigImpl());
        Decoded<Prompt> value = Decoded.value(SampleRecords.chatPrompt("r", "c"), new Origin("t", 0, 0L, new byte[] {1}));
        Decoded<Prompt> dead = Decoded.deadLetter(DeadLetter.of(new Origin("t", 0, 1L, new byte[] {1, 2}), DeadLetter.Stage.DECODE, "empty: x"));

        assertThat(type).isInstanceOf(PojoTypeInfo.class);
        assertThat(copy(serializer, value)).isEqualTo(value);
        assertThat(copy(serializer, dead)).isEqualTo(dead);
    }

    private static <T> T copy(TypeSerializer<T> serializer, T value) throws Exception {
        DataOutputSerializer out = new DataOutputSerializer(256);
        serializer.serialize(value, out);
        return serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
    }
}
