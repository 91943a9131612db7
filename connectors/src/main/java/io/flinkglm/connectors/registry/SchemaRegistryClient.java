package io.flinkglm.connectors.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;

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
 * <pre>{@code
 * var registry = new SchemaRegistryClient(URI.create("http://registry:8081"));
 * int id = registry.register("glm.prompts-value", RecordSchemas.of(Prompt.class));
 * Schema writer = registry.schemaById(id);
 * }</pre>
 */
public final class SchemaRegistryClient {

    /** Confluent's content type for requests and answers. */
    public static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final URI baseUrl;
    private final HttpClient http;
    private final Map<String, Map<Schema, Integer>> idsBySubject = new ConcurrentHashMap<>();
    private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();

    public SchemaRegistryClient(URI baseUrl) {
        String url = baseUrl.toString();
        this.baseUrl = URI.create(url.endsWith("/") ? url : url + "/");
        this.http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
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
            throw new IOException("schema registry " + baseUrl + " answered a registration without an id: " + answer);
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
            throw new IOException("schema id " + id + " from " + baseUrl + " is not an Avro schema: " + e.getMessage(), e);
        }
        schemasById.putIfAbsent(id, schema);
        return schema;
    }

    private JsonNode call(HttpRequest.Builder request, String what) throws IOException {
        HttpResponse<String> response;
        try {
            response = http.send(request.timeout(TIMEOUT)
                            .header("Content-Type", CONTENT_TYPE)
                            .header("Accept", CONTENT_TYPE + ", application/json")
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while trying to " + what + " at " + baseUrl, e);
        }
        if (response.statusCode() == 404) {
            throw new SchemaNotFoundException("schema registry " + baseUrl + " cannot " + what + ": " + response.body());
        }
        if (response.statusCode() / 100 != 2) {
            throw new IOException("schema registry " + baseUrl + " failed to " + what + ": HTTP "
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
        return "SchemaRegistryClient[" + baseUrl + "]";
    }
}
