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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

/**
 * A real HTTP schema registry on a free loopback port, for tests and local runs. It speaks the subset of
 * Confluent's REST API that the connectors' {@code SchemaRegistryClient} uses, with Confluent's JSON shapes,
 * error codes and content type, and records requests so tests can prove the client's cache works:
 *
 * <ul>
 *   <li>{@code POST /subjects/{s}/versions} registers, answering {@code {"id", "guid"}} as Confluent 8.0 does;
 *       a schema the subject's latest version cannot be evolved into under BACKWARD compatibility (Confluent's
 *       default: the new schema must read data of the latest) is {@code 409};
 *   <li>{@code POST /subjects/{s}} looks a schema up under a subject ({@code 40401} / {@code 40403});
 *   <li>{@code GET /subjects/{s}/versions/{v|latest}} ({@code 40401} / {@code 40402});
 *   <li>{@code POST /compatibility/subjects/{s}/versions/{v|latest}} answers {@code {"is_compatible", "messages"}};
 *   <li>{@code GET /schemas/ids/{id}} and {@code GET /schemas/guids/{guid}} ({@code 40403}).
 * </ul>
 *
 * <p>Like Confluent's, ids and GUIDs are global and the same schema gets the same ones in every subject.
 * Started with {@link #startWithBasicAuth}, it answers every request without those credentials with
 * Confluent's {@code 401 Unauthorized}. {@link #refuseRegistration} makes it governed: schemas are
 * registered ahead with {@link #register}, and clients' registrations are refused.
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
    private static final Pattern LOOK_UP = Pattern.compile("/subjects/([^/]+)/?");
    private static final Pattern VERSION = Pattern.compile("/subjects/([^/]+)/versions/([^/]+)/?");
    private static final Pattern COMPATIBILITY = Pattern.compile("/compatibility/subjects/([^/]+)/versions/([^/]+)/?");
    private static final Pattern BY_ID = Pattern.compile("/schemas/ids/(\\d+)/?");
    private static final Pattern BY_GUID = Pattern.compile("/schemas/guids/([0-9a-fA-F-]{36})/?");

    /** How a governed registry refuses a client's registration. */
    public enum Refusal {
        /** {@code 403}, error code 40301: the client's user lacks the Write permission on the subject (RBAC). */
        FORBIDDEN(403, 40301),
        /** {@code 409}: as if every schema the client offers were incompatible. */
        CONFLICT(409, 409),
        /** {@code 422}, error code 42205: the subject is in READONLY mode. */
        READ_ONLY(422, 42205);

        final int status;
        final int errorCode;

        Refusal(int status, int errorCode) {
            this.status = status;
            this.errorCode = errorCode;
        }
    }

    private final HttpServer server;
    private final String expectedAuthorization; // null: no login needed
    private final List<String> requests = new CopyOnWriteArrayList<>(); // "METHOD /path"
    private final Map<Schema, Integer> idsBySchema = new HashMap<>();
    private final List<Schema> schemasById = new ArrayList<>(); // id n is at index n - 1
    private final List<UUID> guidsById = new ArrayList<>(); // id n's GUID is at index n - 1
    private final Map<String, List<Integer>> versionsBySubject = new HashMap<>(); // version n is at index n - 1
    private Refusal refusal; // null: registrations are served
    private int lookUpsToMiss; // id and GUID look-ups still to answer 404, as a lagging replica would

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
        return requests.size();
    }

    /** The requests served so far, in order, each as {@code "POST /subjects/glm.prompts-value/versions"}. */
    public List<String> requests() {
        return List.copyOf(requests);
    }

    /** From now on every client registration ({@code POST /subjects/{s}/versions}) is refused as {@code refusal}. */
    public synchronized LocalSchemaRegistry refuseRegistration(Refusal refusal) {
        this.refusal = refusal;
        return this;
    }

    /**
     * The next {@code count} look-ups by id or GUID answer 404 even for schemas that exist, as a replica that
     * has not yet caught up with its leader does.
     */
    public synchronized void missNextLookUps(int count) {
        this.lookUpsToMiss = count;
    }

    /**
     * Registers {@code schema} directly as a new version of {@code subject}, as CI or another producer would,
     * with no compatibility check (so a test can set up an incompatible subject); returns its id.
     */
    public synchronized int register(String subject, Schema schema) {
        Integer id = idsBySchema.get(schema);
        if (id == null) {
            schemasById.add(schema);
            guidsById.add(UUID.randomUUID());
            id = schemasById.size();
            idsBySchema.put(schema, id);
        }
        List<Integer> versions = versionsBySubject.computeIfAbsent(subject, s -> new ArrayList<>());
        if (!versions.contains(id)) {
            versions.add(id);
        }
        return id;
    }

    /** The GUID of the schema with {@code id}. */
    public synchronized UUID guid(int id) {
        return guidsById.get(id - 1);
    }

    private void handle(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        String path = exchange.getRequestURI().getRawPath();
        requests.add(method + " " + URLDecoder.decode(path, StandardCharsets.UTF_8));
        try (exchange) {
            if (expectedAuthorization != null
                    && !expectedAuthorization.equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                exchange.getResponseHeaders().set("WWW-Authenticate", "Basic realm=\"SchemaRegistry\"");
                reply(exchange, 401, error(401, "Unauthorized"));
                return;
            }
            Answer answer = route(method, path, exchange);
            reply(exchange, answer.status, answer.body);
        }
    }

    private record Answer(int status, Map<String, ?> body) {}

    private Answer route(String method, String path, HttpExchange exchange) throws IOException {
        Matcher register = REGISTER.matcher(path);
        Matcher compatibility = COMPATIBILITY.matcher(path);
        Matcher lookUp = LOOK_UP.matcher(path);
        Matcher version = VERSION.matcher(path);
        Matcher byId = BY_ID.matcher(path);
        Matcher byGuid = BY_GUID.matcher(path);
        if ("POST".equals(method) && register.matches()) {
            return withSchema(exchange, schema -> registerFromClient(decode(register.group(1)), schema));
        } else if ("POST".equals(method) && compatibility.matches()) {
            return withSchema(exchange, schema ->
                    compatibility(decode(compatibility.group(1)), decode(compatibility.group(2)), schema));
        } else if ("POST".equals(method) && lookUp.matches()) {
            return withSchema(exchange, schema -> lookUp(decode(lookUp.group(1)), schema));
        } else if ("GET".equals(method) && version.matches()) {
            return version(decode(version.group(1)), decode(version.group(2)));
        } else if ("GET".equals(method) && byId.matches()) {
            return byId(Integer.parseInt(byId.group(1)), "Schema " + byId.group(1) + " not found");
        } else if ("GET".equals(method) && byGuid.matches()) {
            return byId(idOfGuid(UUID.fromString(byGuid.group(1))), "Schema " + byGuid.group(1) + " not found");
        }
        return new Answer(404, error(404, "HTTP 404 Not Found"));
    }

    private interface SchemaRequest {
        Answer answer(Schema schema);
    }

    private static Answer withSchema(HttpExchange exchange, SchemaRequest request) throws IOException {
        JsonNode body = JSON.readTree(exchange.getRequestBody());
        Schema schema;
        try {
            schema = new Schema.Parser().parse(body.path("schema").asText());
        } catch (RuntimeException e) {
            return new Answer(422, error(42201, "Invalid schema: " + e.getMessage()));
        }
        return request.answer(schema);
    }

    private synchronized Answer registerFromClient(String subject, Schema schema) {
        if (refusal == Refusal.FORBIDDEN) {
            return new Answer(403, error(refusal.errorCode, "User is denied operation Write on Subject: " + subject));
        } else if (refusal == Refusal.READ_ONLY) {
            return new Answer(422, error(refusal.errorCode, "Subject " + subject + " is in read-only mode"));
        }
        List<Integer> versions = versionsBySubject.getOrDefault(subject, List.of());
        List<String> problems = refusal == Refusal.CONFLICT
                ? List.of("this registry refuses every registration")
                : versions.isEmpty() || versions.contains(idsBySchema.get(schema)) ? List.of()
                : incompatibilities(schema, schemasById.get(versions.get(versions.size() - 1) - 1));
        if (!problems.isEmpty()) {
            return new Answer(409, error(409, "Schema being registered is incompatible with an earlier schema for subject \""
                    + subject + "\", details: " + problems));
        }
        int id = register(subject, schema);
        return new Answer(200, Map.of("id", id, "guid", guid(id).toString()));
    }

    private synchronized Answer lookUp(String subject, Schema schema) {
        List<Integer> versions = versionsBySubject.get(subject);
        if (versions == null) {
            return new Answer(404, error(40401, "Subject '" + subject + "' not found."));
        }
        Integer id = idsBySchema.get(schema);
        int index = id == null ? -1 : versions.indexOf(id);
        return index < 0 ? new Answer(404, error(40403, "Schema not found")) : new Answer(200, subjectVersion(subject, index));
    }

    private synchronized Answer version(String subject, String version) {
        List<Integer> versions = versionsBySubject.get(subject);
        if (versions == null) {
            return new Answer(404, error(40401, "Subject '" + subject + "' not found."));
        }
        int index = versionIndex(versions, version);
        return index < 0 ? new Answer(404, error(40402, "Version " + version + " not found."))
                : new Answer(200, subjectVersion(subject, index));
    }

    private synchronized Answer compatibility(String subject, String version, Schema schema) {
        List<Integer> versions = versionsBySubject.get(subject);
        if (versions == null) {
            return new Answer(404, error(40401, "Subject '" + subject + "' not found."));
        }
        int index = versionIndex(versions, version);
        if (index < 0) {
            return new Answer(404, error(40402, "Version " + version + " not found."));
        }
        List<String> problems = incompatibilities(schema, schemasById.get(versions.get(index) - 1));
        return new Answer(200, Map.of("is_compatible", problems.isEmpty(), "messages", problems));
    }

    private synchronized Answer byId(int id, String notFound) {
        if (lookUpsToMiss > 0) {
            lookUpsToMiss--;
            return new Answer(404, error(40403, notFound));
        }
        if (id < 1 || id > schemasById.size()) {
            return new Answer(404, error(40403, notFound));
        }
        Map<String, Object> body = new LinkedHashMap<>(); // Confluent's order: schema first
        body.put("schema", schemasById.get(id - 1).toString());
        body.put("guid", guid(id).toString());
        return new Answer(200, body);
    }

    private int idOfGuid(UUID guid) {
        synchronized (this) {
            return guidsById.indexOf(guid) + 1; // 0, not found, when absent
        }
    }

    private static int versionIndex(List<Integer> versions, String version) {
        if ("latest".equals(version) || "-1".equals(version)) {
            return versions.size() - 1;
        }
        try {
            int n = Integer.parseInt(version);
            return n >= 1 && n <= versions.size() ? n - 1 : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private Map<String, Object> subjectVersion(String subject, int index) {
        int id = versionsBySubject.get(subject).get(index);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("subject", subject);
        body.put("version", index + 1);
        body.put("id", id);
        body.put("guid", guid(id).toString());
        body.put("schema", schemasById.get(id - 1).toString());
        return body;
    }

    /** BACKWARD, Confluent's default: {@code candidate} must read data written with {@code existing}. */
    private static List<String> incompatibilities(Schema candidate, Schema existing) {
        return SchemaCompatibility.checkReaderWriterCompatibility(candidate, existing).getResult().getIncompatibilities()
                .stream()
                .map(problem -> "{errorType:'" + problem.getType() + "', description:'" + problem.getMessage()
                        + "', location:'" + problem.getLocation() + "'}")
                .toList();
    }

    private static Map<String, Object> error(int errorCode, String message) {
        return Map.of("error_code", errorCode, "message", message);
    }

    private static String decode(String raw) {
        return URLDecoder.decode(raw, StandardCharsets.UTF_8);
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
