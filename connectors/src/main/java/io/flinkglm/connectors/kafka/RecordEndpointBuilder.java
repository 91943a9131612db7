package io.flinkglm.connectors.kafka;

import io.flinkglm.connectors.formats.AvroSerdeOptions;
import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.registry.SchemaRegistryConfig;
import io.flinkglm.connectors.registry.SchemaRegistryConfig.CredentialsSource;
import io.flinkglm.records.WireRecord;
import java.util.Objects;
import java.util.Properties;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.configuration.ReadableConfig;

/**
 * What the source and sink builders share: the record type, where Kafka is, the format and the schema
 * registry, and Kafka client properties passed through untouched (SASL, SSL, timeouts).
 *
 * <pre>{@code
 * builder.setBootstrapServers("kafka:9093").setProperty("security.protocol", "SASL_SSL");
 * }</pre>
 */
@PublicEvolving
public abstract class RecordEndpointBuilder<T extends WireRecord, B extends RecordEndpointBuilder<T, B>> {

    protected final Class<T> type;
    protected String bootstrapServers;
    protected RecordFormat format = KafkaConnectorOptions.FORMAT.defaultValue();
    private String schemaRegistryUrl;
    private CredentialsSource schemaRegistryCredentialsSource = CredentialsSource.URL;
    private String schemaRegistryUserInfo;
    private String schemaRegistryTruststore;
    private String schemaRegistryTruststorePassword;
    private String schemaRegistryTruststoreType;
    private AvroSerdeOptions avroOptions = AvroSerdeOptions.DEFAULTS;
    protected final Properties properties = new Properties();

    RecordEndpointBuilder(Class<T> type) {
        this.type = Objects.requireNonNull(type, "record type");
    }

    /**
     * Reads every option in {@link KafkaConnectorOptions} this builder uses, and the Kafka client properties
     * given as {@code glm.kafka.properties.<key>}; unset options keep their value.
     */
    public B configure(ReadableConfig config) {
        setProperties(KafkaConnectorOptions.kafkaProperties(config));
        config.getOptional(KafkaConnectorOptions.BOOTSTRAP_SERVERS).ifPresent(this::setBootstrapServers);
        config.getOptional(KafkaConnectorOptions.FORMAT).ifPresent(this::setFormat);
        config.getOptional(KafkaConnectorOptions.SCHEMA_REGISTRY_URL).ifPresent(this::setSchemaRegistryUrl);
        config.getOptional(KafkaConnectorOptions.SCHEMA_REGISTRY_CREDENTIALS_SOURCE).ifPresent(source -> {
            schemaRegistryCredentialsSource = source;
        });
        config.getOptional(KafkaConnectorOptions.SCHEMA_REGISTRY_USER_INFO).ifPresent(userInfo -> {
            schemaRegistryUserInfo = userInfo;
        });
        config.getOptional(KafkaConnectorOptions.SCHEMA_REGISTRY_TRUSTSTORE_LOCATION).ifPresent(location ->
                setSchemaRegistryTruststore(location,
                        config.getOptional(KafkaConnectorOptions.SCHEMA_REGISTRY_TRUSTSTORE_PASSWORD).orElse(null),
                        config.get(KafkaConnectorOptions.SCHEMA_REGISTRY_TRUSTSTORE_TYPE)));
        // Read together: one at a time, the rules between them (AvroSerdeOptions) would trip midway.
        avroOptions = new AvroSerdeOptions(
                config.getOptional(KafkaConnectorOptions.SCHEMA_REGISTRY_AUTO_REGISTER).orElse(avroOptions.autoRegister()),
                config.getOptional(KafkaConnectorOptions.SCHEMA_REGISTRY_USE_LATEST_VERSION)
                        .orElse(avroOptions.useLatestVersion()),
                config.getOptional(KafkaConnectorOptions.SCHEMA_REGISTRY_SCHEMA_VERSION).orElse(avroOptions.schemaVersion()),
                config.getOptional(KafkaConnectorOptions.SCHEMA_REGISTRY_VALUE_SUBJECT_NAME_STRATEGY)
                        .orElse(avroOptions.subjectNameStrategy()),
                config.getOptional(KafkaConnectorOptions.SCHEMA_REGISTRY_SCHEMA_ID_FRAMING).orElse(avroOptions.framing()));
        return self();
    }

    public B setBootstrapServers(String bootstrapServers) {
        this.bootstrapServers = requireText(bootstrapServers, "bootstrap servers");
        return self();
    }

    public B setFormat(RecordFormat format) {
        this.format = Objects.requireNonNull(format, "format");
        return self();
    }

    /**
     * Base URL of a Confluent-compatible schema registry; required by {@link RecordFormat#AVRO}. Userinfo in
     * it ({@code https://user:password@registry:8081}) logs in with basic auth.
     */
    public B setSchemaRegistryUrl(String url) {
        SchemaRegistryConfig.of(url); // checks it, without repeating a password in the error
        this.schemaRegistryUrl = url;
        return self();
    }

    /** Basic auth for the schema registry as {@code user:password}, Confluent's {@code basic.auth.user.info}. */
    public B setSchemaRegistryUserInfo(String userInfo) {
        if (userInfo == null || userInfo.indexOf(':') < 0) {
            throw new IllegalArgumentException("schema registry user info must be user:password");
        }
        this.schemaRegistryCredentialsSource = CredentialsSource.USER_INFO;
        this.schemaRegistryUserInfo = userInfo;
        return self();
    }

    /** Trusts the certificates in the keystore at {@code location} for an https schema registry. */
    public B setSchemaRegistryTruststore(String location, String password, String type) {
        this.schemaRegistryTruststore = requireText(location, "schema registry truststore location");
        this.schemaRegistryTruststorePassword = password;
        this.schemaRegistryTruststoreType = type;
        return self();
    }

    /**
     * How Avro uses the registry: auto-registration, the version to write with, the subject naming and the
     * framing ({@link AvroSerdeOptions}); checked as a whole by {@code build()}.
     */
    public B setAvroOptions(AvroSerdeOptions avroOptions) {
        this.avroOptions = Objects.requireNonNull(avroOptions, "Avro options");
        return self();
    }

    protected AvroSerdeOptions avroOptions() {
        return avroOptions;
    }

    /** The registry settings for the serialization schemas, or null without a registry URL. */
    protected SchemaRegistryConfig schemaRegistry() {
        return schemaRegistryUrl == null ? null : new SchemaRegistryConfig(schemaRegistryUrl,
                schemaRegistryCredentialsSource, schemaRegistryUserInfo, schemaRegistryTruststore,
                schemaRegistryTruststorePassword, schemaRegistryTruststoreType);
    }

    /** A Kafka client property, passed as is to the consumer or producer. */
    public B setProperty(String key, String value) {
        properties.setProperty(requireText(key, "property key"), Objects.requireNonNull(value, key));
        return self();
    }

    public B setProperties(Properties props) {
        props.stringPropertyNames().forEach(key -> setProperty(key, props.getProperty(key)));
        return self();
    }

    /** Checks the rules between fields that no single setter can. */
    protected void checkEndpoint() {
        if (bootstrapServers == null) {
            throw new IllegalStateException("bootstrap servers are not set: call setBootstrapServers(\"host:9092\")"
                    + " or set " + KafkaConnectorOptions.BOOTSTRAP_SERVERS.key());
        }
        if (format == RecordFormat.AVRO && schemaRegistryUrl == null) {
            throw new IllegalStateException("format AVRO needs a schema registry: call setSchemaRegistryUrl(...) or set "
                    + KafkaConnectorOptions.SCHEMA_REGISTRY_URL.key());
        }
        if (schemaRegistryUrl == null && (schemaRegistryUserInfo != null || schemaRegistryTruststore != null)) {
            throw new IllegalStateException("schema registry credentials or truststore are set but no schema registry"
                    + " url: call setSchemaRegistryUrl(...) or set " + KafkaConnectorOptions.SCHEMA_REGISTRY_URL.key());
        }
        try {
            schemaRegistry(); // the registry's own cross-field rules, e.g. USER_INFO without user info
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    static String requireText(String value, String what) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException(what + " must not be null or blank");
        }
        return value;
    }

    @SuppressWarnings("unchecked")
    private B self() {
        return (B) this;
    }
}
