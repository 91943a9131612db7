package io.flinkglm.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.avro.Schema;

/**
 * A real HTTP schema registry on a free loopback port, for tests and local runs. It speaks the subset of
 * Confluent's REST API that the connectors' {@code SchemaRegistryClient} uses, with Confluent's JSON shapes, error codes and
 * content type, and counts requests so tests can prove the client's cache works.
 *
 * <p>Like Confluent's, ids are global and the same schema gets the same id in every subject. Started with
 * {@link #startWithBasicAuth}, it answers every request without those credentials with Confluent's
 * {@code 401 Unauthorized}.
 *
 * <pre>{@code
 * try (var registry = LocalSchemaRegistry.start()) {
 *     var client = new SchemaRegistryClient(registry.url());
 * }
 * try (var registry = LocalSchemaRegistry.startWithBasicAuth("glm", "s3cret")) {
 *     var client = new SchemaRegistryClient(SchemaRegistryConfig.of(registry.url().toString()).withUserInfo("glm:s3cret"));
 * }
 * }</pre>
 */
public final class LocalSchemaRegistry implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Confluent's media type on every answer; spelled out, since the connectors' own tests depend on this kit. */
    static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final Pattern REGISTER = Pattern.compile("/subjects/([^/]+)/versions/?");
    private static final Pattern BY_ID = Pattern.compile("/schemas/ids/(\\d+)/?");

    private final HttpServer server;
    private final String expectedAuthorization; // null: no login needed
    private final AtomicInteger requests = new AtomicInteger();
    private final Map<Schema, Integer> idsBySchema = new HashMap<>();
    private final List<Schema> schemasById = new ArrayList<>(); // id n is at index n - 1
    private final Map<String, List<Integer>> versionsBySubject = new HashMap<>();

    private LocalSchemaRegistry(HttpServer server, String expectedAuthorization) {
        this.server = server;
        this.expectedAuthorization = expectedAuthorization;
    }

    public static LocalSchemaRegistry start() throws IOException {
        return start(null);
    }

    /** A registry that serves only requests with HTTP basic auth as {@code user} with {@code password}. */
    public static LocalSchemaRegistry startWithBasicAuth(String user, String password) throws IOException {
        return start("Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8)));
    }

    private static LocalSchemaRegistry start(String expectedAuthorization) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        LocalSchemaRegistry registry = new LocalSchemaRegistry(server, expectedAuthorization);
        server.createContext("/", registry::handle);
        server.start();
        return registry;
    }

    public URI url() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** HTTP requests served so far, of any kind. */
    public int requestCount() {
        return requests.get();
    }

    /** Registers {@code schema} directly, as another producer would; returns its id. */
    public synchronized int register(String subject, Schema schema) {
        Integer id = idsBySchema.get(schema);
        if (id == null) {
            schemasById.add(schema);
            id = schemasById.size();
            idsBySchema.put(schema, id);
        }
        List<Integer> versions = versionsBySubject.computeIfAbsent(subject, s -> new ArrayList<>());
        if (!versions.contains(id)) {
            versions.add(id);
        }
        return id;
    }

    private void handle(HttpExchange exchange) throws IOException {
        requests.incrementAndGet();
        try (exchange) {
            String path = exchange.getRequestURI().getRawPath();
            Matcher register = REGISTER.matcher(path);
            Matcher byId = BY_ID.matcher(path);
            if (expectedAuthorization != null
                    && !expectedAuthorization.equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                exchange.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"SchemaRegistry\"");
                reply(exchange, 401, Map.of("error_code", 401, "message", "Unauthorized"));
            } else if ("POST".equals(exchange.getRequestMethod()) && register.matches()) {
                String subject = URLDecoder.decode(register.group(1), StandardCharsets.UTF_8);
                JsonNode body = JSON.readTree(exchange.getRequestBody());
                Schema schema;
                try {
                    schema = new Schema.Parser().parse(body.path("schema").asText());
                } catch (RuntimeException e) {
                    reply(exchange, 422, Map.of("error_code", 42201, "message", "Invalid schema: " + e.getMessage()));
                    return;
                }
                reply(exchange, 200, Map.of("id", register(subject, schema)));
            } else if ("GET".equals(exchange.getRequestMethod()) && byId.matches()) {
                Schema schema = schemaById(Integer.parseInt(byId.group(1)));
                if (schema == null) {
                    reply(exchange, 404, Map.of("error_code", 40403, "message", "Schema " + byId.group(1) + " not found"));
                } else {
                    reply(exchange, 200, Map.of("schema", schema.toString()));
                }
            } else {
                reply(exchange, 404, Map.of("error_code", 404, "message", "HTTP 404 Not Found"));
            }
        }
    }

    private synchronized Schema schemaById(int id) {
        return id >= 1 && id <= schemasById.size() ? schemasById.get(id - 1) : null;
    }

    private static void reply(HttpExchange exchange, int status, Map<String, ?> body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
