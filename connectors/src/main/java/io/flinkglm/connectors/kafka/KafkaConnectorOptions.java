package io.flinkglm.connectors.kafka;

import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.SchemaIdFraming;
import io.flinkglm.connectors.registry.SchemaRegistryConfig;
import io.flinkglm.connectors.registry.SchemaRegistryConfig.CredentialsSource;
import io.flinkglm.connectors.registry.SubjectNameStrategy;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.connector.base.DeliveryGuarantee;

/**
 * Options of the Kafka sources and sinks, read by {@code configure(ReadableConfig)} on their builders.
 *
 * <pre>{@code
 * Configuration conf = new Configuration();
 * conf.set(KafkaConnectorOptions.BOOTSTRAP_SERVERS, "kafka:9092");
 * conf.set(KafkaConnectorOptions.FORMAT, RecordFormat.AVRO);
 * conf.setString("glm.kafka.properties.security.protocol", "SASL_SSL"); // any Kafka client property
 * KafkaSource<Decoded<Prompt>> source = RecordKafkaSource.builder(Prompt.class).configure(conf).build();
 * }</pre>
 */
@PublicEvolving
public final class KafkaConnectorOptions {

    /**
     * Keys starting with this are Kafka client properties, passed without the prefix to every consumer,
     * producer and admin client of a job, as Flink's SQL Kafka connector does with {@code properties.*}:
     * {@code glm.kafka.properties.security.protocol=SASL_SSL} sets {@code security.protocol}.
     */
    public static final String PROPERTIES_PREFIX = "glm.kafka.properties.";

    /** Client properties that have an option of their own; two ways to say one thing would disagree. */
    private static final Map<String, ConfigOption<String>> OWN_OPTIONS = Map.of(
            "bootstrap.servers", ConfigOptions.key("glm.kafka.bootstrap-servers").stringType().noDefaultValue(),
            "group.id", ConfigOptions.key("glm.kafka.group-id").stringType().noDefaultValue(),
            "transactional.id", ConfigOptions.key("glm.kafka.transactional-id-prefix").stringType().noDefaultValue());

    public static final ConfigOption<String> BOOTSTRAP_SERVERS = ConfigOptions.key("glm.kafka.bootstrap-servers")
            .stringType()
            .noDefaultValue()
            .withDescription("Kafka bootstrap servers, host:port[,host:port...].");

    public static final ConfigOption<String> PROMPTS_TOPIC = ConfigOptions.key("glm.kafka.topic.prompts")
            .stringType()
            .defaultValue("glm.prompts")
            .withDescription("Topic the prompts are read from.");

    public static final ConfigOption<String> TOOL_RESULTS_TOPIC = ConfigOptions.key("glm.kafka.topic.tool-results")
            .stringType()
            .defaultValue("glm.tool-results")
            .withDescription("Topic the tool results are read from.");

    public static final ConfigOption<String> COMPLETIONS_TOPIC = ConfigOptions.key("glm.kafka.topic.completions")
            .stringType()
            .defaultValue("glm.completions")
            .withDescription("Topic the completions are written to.");

    public static final ConfigOption<String> FUNCTION_CALLS_TOPIC = ConfigOptions.key("glm.kafka.topic.function-calls")
            .stringType()
            .defaultValue("glm.function-calls")
            .withDescription("Topic the function calls are written to.");

    public static final ConfigOption<String> SAFETY_VERDICTS_TOPIC = ConfigOptions.key("glm.kafka.topic.safety-verdicts")
            .stringType()
            .defaultValue("glm.safety-verdicts")
            .withDescription("Topic the safety verdicts are written to.");

    public static final ConfigOption<String> DEAD_LETTERS_TOPIC = ConfigOptions.key("glm.kafka.topic.dead-letters")
            .stringType()
            .defaultValue("glm.dead-letters")
            .withDescription("Topic records that cannot be processed are written to, with the reason.");

    public static final ConfigOption<RecordFormat> FORMAT = ConfigOptions.key("glm.kafka.format")
            .enumType(RecordFormat.class)
            .defaultValue(RecordFormat.JSON)
            .withDescription("Record format on every topic: JSON, or AVRO in the Confluent wire format "
                    + "(needs glm.kafka.schema-registry.url).");

    public static final ConfigOption<String> SCHEMA_REGISTRY_URL = ConfigOptions.key("glm.kafka.schema-registry.url")
            .stringType()
            .noDefaultValue()
            .withDescription("Base URL of a Confluent-compatible schema registry, e.g. http://registry:8081; "
                    + "https://user:password@registry:8081 logs in with basic auth (credentials source URL).");

    public static final ConfigOption<CredentialsSource> SCHEMA_REGISTRY_CREDENTIALS_SOURCE =
            ConfigOptions.key("glm.kafka.schema-registry.basic-auth.credentials-source")
                    .enumType(CredentialsSource.class)
                    .defaultValue(CredentialsSource.URL)
                    .withDescription("Where the schema registry's basic-auth credentials come from, as Confluent's "
                            + "basic.auth.credentials.source: URL (the userinfo of the registry URL, if any) or "
                            + "USER_INFO (glm.kafka.schema-registry.basic-auth.user-info).");

    public static final ConfigOption<String> SCHEMA_REGISTRY_USER_INFO =
            ConfigOptions.key("glm.kafka.schema-registry.basic-auth.user-info")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("user:password for the schema registry, as Confluent's basic.auth.user.info; "
                            + "needs credentials-source USER_INFO. Never printed.");

    public static final ConfigOption<String> SCHEMA_REGISTRY_TRUSTSTORE_LOCATION =
            ConfigOptions.key("glm.kafka.schema-registry.ssl.truststore.location")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("Keystore file of the certificates to trust for an https schema registry; "
                            + "unset, the JVM's default trust.");

    public static final ConfigOption<String> SCHEMA_REGISTRY_TRUSTSTORE_PASSWORD =
            ConfigOptions.key("glm.kafka.schema-registry.ssl.truststore.password")
                    .stringType()
                    .noDefaultValue()
                    .withDescription("Password of the schema registry truststore.");

    public static final ConfigOption<String> SCHEMA_REGISTRY_TRUSTSTORE_TYPE =
            ConfigOptions.key("glm.kafka.schema-registry.ssl.truststore.type")
                    .stringType()
                    .defaultValue(SchemaRegistryConfig.DEFAULT_TRUSTSTORE_TYPE)
                    .withDescription("KeyStore type of the schema registry truststore: PKCS12 or JKS.");

    public static final ConfigOption<Boolean> SCHEMA_REGISTRY_AUTO_REGISTER =
            ConfigOptions.key("glm.kafka.schema-registry.auto-register")
                    .booleanType()
                    .defaultValue(true)
                    .withDescription("Sinks register their record's Avro schema under the subject at start, as "
                            + "Confluent's auto.register.schemas. Set false for a governed registry whose schemas CI "
                            + "registers: the sink then looks its schema up under the subject, or uses "
                            + "use-latest-version / schema-version.");

    public static final ConfigOption<Boolean> SCHEMA_REGISTRY_USE_LATEST_VERSION =
            ConfigOptions.key("glm.kafka.schema-registry.use-latest-version")
                    .booleanType()
                    .defaultValue(false)
                    .withDescription("Sinks write with the subject's latest version, as Confluent's use.latest.version,"
                            + " after checking at start that it can read the record's schema (as "
                            + "latest.compatibility.strict=true). Needs auto-register false.");

    public static final ConfigOption<Integer> SCHEMA_REGISTRY_SCHEMA_VERSION =
            ConfigOptions.key("glm.kafka.schema-registry.schema-version")
                    .intType()
                    .noDefaultValue()
                    .withDescription("Sinks write with this version of the subject, checked at start as with "
                            + "use-latest-version. Needs auto-register false.");

    public static final ConfigOption<SubjectNameStrategy> SCHEMA_REGISTRY_VALUE_SUBJECT_NAME_STRATEGY =
            ConfigOptions.key("glm.kafka.schema-registry.value-subject-name-strategy")
                    .enumType(SubjectNameStrategy.class)
                    .defaultValue(SubjectNameStrategy.TOPIC)
                    .withDescription("The subject of a topic's values, as Confluent's value.subject.name.strategy: "
                            + "TOPIC (<topic>-value), RECORD (the Avro record's full name, e.g. "
                            + "io.flinkglm.connectors.records.Prompt) or TOPIC_RECORD (<topic>-<full name>).");

    public static final ConfigOption<SchemaIdFraming> SCHEMA_REGISTRY_SCHEMA_ID_FRAMING =
            ConfigOptions.key("glm.kafka.schema-registry.schema-id-framing")
                    .enumType(SchemaIdFraming.class)
                    .defaultValue(SchemaIdFraming.ID)
                    .withDescription("How sinks name the schema of each Avro value: ID (magic byte 0 + 4-byte id, "
                            + "what every Confluent client reads), GUID (magic byte 1 + 16-byte GUID) or HEADER (the "
                            + "bare datum, magic byte 1 + GUID in the __value_schema_id header, as Confluent's "
                            + "HeaderSchemaIdSerializer). GUID and HEADER need a registry that assigns GUIDs. Sources"
                            + " read all three.");

    public static final ConfigOption<DeliveryGuarantee> DELIVERY_GUARANTEE = ConfigOptions.key("glm.kafka.delivery-guarantee")
            .enumType(DeliveryGuarantee.class)
            .defaultValue(DeliveryGuarantee.EXACTLY_ONCE)
            .withDescription("Sink guarantee. EXACTLY_ONCE writes in Kafka transactions committed on checkpoints, "
                    + "so readers need isolation.level=read_committed; AT_LEAST_ONCE flushes on checkpoints.");

    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX = ConfigOptions.key("glm.kafka.transactional-id-prefix")
            .stringType()
            .defaultValue("flink-glm")
            .withDescription("Prefix of the sinks' transactional ids; each sink appends its topic so the sinks "
                    + "of one job never fence each other. Must differ between jobs writing to the same cluster.");

    public static final ConfigOption<String> GROUP_ID = ConfigOptions.key("glm.kafka.group-id")
            .stringType()
            .defaultValue("flink-glm")
            .withDescription("Consumer group id of the sources; offsets are committed to it on checkpoints.");

    public static final ConfigOption<MemorySize> MAX_RECORD_SIZE = ConfigOptions.key("glm.kafka.max-record-size")
            .memoryType()
            .defaultValue(MemorySize.parse("1mb"))
            .withDescription("Records larger than this are not parsed but sent to the dead-letter topic, with their "
                    + "first 64 KiB. The default, 1 MiB, is what a default Kafka lets through (message.max.bytes "
                    + "1048588, producer max.request.size 1048576); to raise it raise the topic's max.message.bytes "
                    + "and the producers' max.request.size too.");

    private KafkaConnectorOptions() {}

    /**
     * The Kafka client properties in {@code config}: every {@code glm.kafka.properties.<key>} as {@code <key>}.
     *
     * @throws IllegalArgumentException for a key that has its own option (bootstrap servers, group id,
     *     transactional id) or an empty key
     */
    public static Properties kafkaProperties(ReadableConfig config) {
        Properties properties = new Properties();
        config.toMap().forEach((key, value) -> {
            if (key.startsWith(PROPERTIES_PREFIX)) {
                String kafkaKey = key.substring(PROPERTIES_PREFIX.length());
                checkPropertyKey(kafkaKey);
                properties.setProperty(kafkaKey, value);
            }
        });
        return properties;
    }

    /** Checks a Kafka client property given as {@code glm.kafka.properties.<kafkaKey>}. */
    public static void checkPropertyKey(String kafkaKey) {
        if (kafkaKey.isBlank()) {
            throw new IllegalArgumentException(PROPERTIES_PREFIX + " needs a Kafka client property after it, e.g. "
                    + PROPERTIES_PREFIX + "security.protocol");
        }
        ConfigOption<String> own = OWN_OPTIONS.get(kafkaKey);
        if (own != null) {
            throw new IllegalArgumentException(PROPERTIES_PREFIX + kafkaKey + " is not passed through: set "
                    + own.key() + " instead");
        }
    }
}
