package io.flinkglm.connectors.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.avro.Schema;
import org.apache.flink.annotation.PublicEvolving;

/**
 * A client for the subset of Confluent Schema Registry's REST API the Avro format needs, over
 * {@code java.net.http} so no Confluent artifact is required:
 *
 * <ul>
 *   <li>{@code POST /subjects/{subject}/versions} with {@code {"schema": "..."}} answers {@code {"id": n}};
 *   <li>{@code GET /schemas/ids/{id}} answers {@code {"schema": "..."}}.
 * </ul>
 *
 * <p>Both answers are cached for the life of the client, both ways (registering a schema also caches its id
 * lookup): ids are immutable in the registry, so one HTTP call per schema per task is enough.
 *
 * <p>Basic auth and a custom truststore come from {@link SchemaRegistryConfig}, with Confluent's semantics.
 * The password never appears in {@link #toString()} or in an error message.
 *
 * <pre>{@code
 * var registry = new SchemaRegistryClient(URI.create("http://registry:8081"));
 * int id = registry.register("glm.prompts-value", RecordSchemas.of(Prompt.class));
 * Schema writer = registry.schemaById(id);
 * var secured = new SchemaRegistryClient(SchemaRegistryConfig.of("https://registry:8081").withUserInfo("svc:pw"));
 * }</pre>
 */
@PublicEvolving
public final class SchemaRegistryClient {

    /** Confluent's content type for requests and answers. */
    public static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final URI baseUrl; // without userinfo
    private final String displayUrl;
    private final String authorization; // the Authorization header's value, or null
    private final String user; // for error messages
    private final HttpClient http;
    private final Map<String, Map<Schema, Integer>> idsBySubject = new ConcurrentHashMap<>();
    private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();

    /** A client for the registry at {@code baseUrl}, with basic auth if the URL has userinfo. */
    public SchemaRegistryClient(URI baseUrl) {
        this(SchemaRegistryConfig.of(baseUrl.toString()));
    }

    /**
     * @throws IllegalArgumentException when the truststore cannot be read, naming the file and why
     */
    public SchemaRegistryClient(SchemaRegistryConfig config) {
        this.baseUrl = config.requestUrl();
        this.displayUrl = config.displayUrl();
        String userInfo = config.basicAuthUserInfo();
        this.authorization = userInfo == null ? null
                : "Basic " + Base64.getEncoder().encodeToString(userInfo.getBytes(StandardCharsets.UTF_8));
        this.user = config.basicAuthUser();
        HttpClient.Builder http = HttpClient.newBuilder().connectTimeout(TIMEOUT);
        if (config.truststoreLocation() != null) {
            http.sslContext(trusting(config));
        }
        this.http = http.build();
    }

    private static SSLContext trusting(SchemaRegistryConfig config) {
        Path location = Path.of(config.truststoreLocation());
        char[] password = config.truststorePassword() == null ? null : config.truststorePassword().toCharArray();
        try (InputStream in = Files.newInputStream(location)) {
            KeyStore trusted = KeyStore.getInstance(config.truststoreType());
            trusted.load(in, password);
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trusted);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, trust.getTrustManagers(), null);
            return context;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("cannot read the schema registry truststore " + location + " as "
                    + config.truststoreType() + " (glm.kafka.schema-registry.ssl.truststore.*): " + e.getMessage(), e);
        }
    }

    /** Registers {@code schema} under {@code subject} (a no-op in the registry if already there) and returns its id. */
    public int register(String subject, Schema schema) throws IOException {
        Map<Schema, Integer> ids = idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>());
        Integer cached = ids.get(schema);
        if (cached != null) {
            return cached;
        }
        String body = JSON.writeValueAsString(Map.of("schema", schema.toString()));
        JsonNode answer = call(HttpRequest.newBuilder(resolve("subjects/" + encode(subject) + "/versions"))
                .POST(HttpRequest.BodyPublishers.ofString(body)), "register a schema under subject " + subject);
        int id = answer.path("id").asInt(-1);
        if (id < 0) {
            throw new IOException("schema registry " + displayUrl + " answered a registration without an id: " + answer);
        }
        ids.put(schema, id);
        schemasById.putIfAbsent(id, schema);
        return id;
    }

    /** The schema with {@code id}. */
    public Schema schemaById(int id) throws IOException {
        Schema cached = schemasById.get(id);
        if (cached != null) {
            return cached;
        }
        JsonNode answer = call(HttpRequest.newBuilder(resolve("schemas/ids/" + id)).GET(), "look up schema id " + id);
        Schema schema;
        try {
            schema = new Schema.Parser().parse(answer.path("schema").asText());
        } catch (RuntimeException e) {
            throw new IOException("schema id " + id + " from " + displayUrl + " is not an Avro schema: " + e.getMessage(), e);
        }
        schemasById.putIfAbsent(id, schema);
        return schema;
    }

    private JsonNode call(HttpRequest.Builder request, String what) throws IOException {
        HttpResponse<String> response;
        request.timeout(TIMEOUT)
                .header("Content-Type", CONTENT_TYPE)
                .header("Accept", CONTENT_TYPE + ", application/json");
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while trying to " + what + " at " + displayUrl, e);
        } catch (IOException e) { // java.net.http's messages name the host at most, never the userinfo
            throw new IOException("schema registry " + displayUrl + " cannot be reached to " + what + ": " + e, e);
        }
        if (response.statusCode() == 401 || response.statusCode() == 403) {
            throw new IOException("schema registry " + displayUrl + " refused to " + what + ": HTTP "
                    + response.statusCode() + (user == null
                            ? " without credentials; set glm.kafka.schema-registry.basic-auth.user-info"
                                    + " (and credentials-source USER_INFO) or user:password@ in the URL"
                            : " for user " + user + "; check the password (glm.kafka.schema-registry.basic-auth.*)")
                    + ": " + response.body());
        }
        if (response.statusCode() == 404) {
            throw new SchemaNotFoundException("schema registry " + displayUrl + " cannot " + what + ": " + response.body());
        }
        if (response.statusCode() / 100 != 2) {
            throw new IOException("schema registry " + displayUrl + " failed to " + what + ": HTTP "
                    + response.statusCode() + " " + response.body());
        }
        return JSON.readTree(response.body());
    }

    private URI resolve(String path) {
        return baseUrl.resolve(path);
    }

    private static String encode(String subject) {
        return URLEncoder.encode(subject, StandardCharsets.UTF_8).replace("+", "%20");
    }

    @Override
    public String toString() {
        return "SchemaRegistryClient[" + displayUrl + (user == null ? "" : ", user " + user) + "]";
    }
}
