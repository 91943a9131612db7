package io.flinkglm.connectors.kafka;

import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.records.WireRecord;
import java.net.URI;
import java.util.Objects;
import java.util.Properties;
import org.apache.flink.configuration.ReadableConfig;

/**
 * What the source and sink builders share: the record type, where Kafka is, the format and the schema
 * registry, and Kafka client properties passed through untouched (SASL, SSL, timeouts).
 *
 * <pre>{@code
 * builder.setBootstrapServers("kafka:9093").setProperty("security.protocol", "SASL_SSL");
 * }</pre>
 */
public abstract class RecordEndpointBuilder<T extends WireRecord, B extends RecordEndpointBuilder<T, B>> {

    protected final Class<T> type;
    protected String bootstrapServers;
    protected RecordFormat format = KafkaConnectorOptions.FORMAT.defaultValue();
    protected String schemaRegistryUrl;
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

    /** Base URL of a Confluent-compatible schema registry; required by {@link RecordFormat#AVRO}. */
    public B setSchemaRegistryUrl(String url) {
        URI uri = URI.create(requireText(url, "schema registry url"));
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
            throw new IllegalArgumentException("schema registry url must be http(s)://host:port, not " + url);
        }
        this.schemaRegistryUrl = url;
        return self();
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
