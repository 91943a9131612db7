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
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.avro.Schema;
import org.apache.flink.annotation.PublicEvolving;

/**
 * A client for the subset of Confluent Schema Registry's REST API the Avro format needs, over
 * {@code java.net.http} so no Confluent artifact is required:
 *
 * <ul>
 *   <li>{@code POST /subjects/{subject}/versions} registers, answering {@code {"id": n}} (and a {@code guid} from
 *       Confluent 8.0 on);
 *   <li>{@code POST /subjects/{subject}} looks a schema up under a subject, for registries that forbid registering;
 *   <li>{@code GET /subjects/{subject}/versions/{version|latest}} reads a version;
 *   <li>{@code POST /compatibility/subjects/{subject}/versions/{version}} explains an incompatibility;
 *   <li>{@code GET /schemas/ids/{id}} and {@code GET /schemas/guids/{guid}} answer {@code {"schema": "..."}}.
 * </ul>
 *
 * <p>As Confluent's {@code CachedSchemaRegistryClient}, schemas by id and by GUID and registrations are cached
 * for the life of the client (ids and GUIDs are immutable in the registry), in caches bounded to 1,000 entries
 * each, so a task makes one HTTP call per schema, not one per record. A 404 for an id or GUID is retried with
 * backoff first (a replica may lag its leader) and then remembered for 10 s, so a burst of records naming
 * the same missing id costs one round of retries.
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
    /** Entries per cache: Confluent's client default for {@code max.schemas.per.subject}. */
    static final int CACHE_CAPACITY = 1000;
    /** Tries after a 404 for an id or GUID; with the backoff, 0.7 s in all before a record is dead-lettered. */
    static final int NOT_FOUND_RETRIES = 3;
    static final Duration NOT_FOUND_BACKOFF = Duration.ofMillis(100);
    /** How long an id or GUID that stayed 404 through the retries is answered 404 without asking again. */
    static final Duration KNOWN_MISSING_FOR = Duration.ofSeconds(10);

    private final URI baseUrl; // without userinfo
    private final String displayUrl;
    private final String authorization; // the Authorization header's value, or null
    private final String user; // for error messages
    private final HttpClient http;
    private final int notFoundRetries;
    private final Duration notFoundBackoff;
    private final BoundedCache<SubjectSchema, RegisteredSchema> registered = new BoundedCache<>(CACHE_CAPACITY);
    private final BoundedCache<Integer, Schema> schemasById = new BoundedCache<>(CACHE_CAPACITY);
    private final BoundedCache<UUID, Schema> schemasByGuid = new BoundedCache<>(CACHE_CAPACITY);
    private final BoundedCache<Object, Long> knownMissing = new BoundedCache<>(CACHE_CAPACITY); // id or GUID -> nanoTime

    /** A schema under a subject: the key of a registration or look-up. */
    private record SubjectSchema(String subject, Schema schema) {}

    /** A client for the registry at {@code baseUrl}, with basic auth if the URL has userinfo. */
    public SchemaRegistryClient(URI baseUrl) {
        this(SchemaRegistryConfig.of(baseUrl.toString()));
    }

    /**
     * @throws IllegalArgumentException when the truststore cannot be read, naming the file and why
     */
    public SchemaRegistryClient(SchemaRegistryConfig config) {
        this(config, NOT_FOUND_RETRIES, NOT_FOUND_BACKOFF);
    }

    /** As {@link #SchemaRegistryClient(SchemaRegistryConfig)}, retrying a 404 for an id or GUID as given. */
    SchemaRegistryClient(SchemaRegistryConfig config, int notFoundRetries, Duration notFoundBackoff) {
        this.notFoundRetries = notFoundRetries;
        this.notFoundBackoff = notFoundBackoff;
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
        return registerSchema(subject, schema).id();
    }

    /**
     * Registers {@code schema} under {@code subject}: {@code POST /subjects/{subject}/versions}. The answer has
     * no version; it has a GUID from registries that assign them.
     *
     * @throws SchemaRegistryRefusalException 409 when the subject's compatibility rules reject it, 401/403 when
     *     this user may not register (a governed registry), 422 when the schema is invalid or the subject is
     *     read-only
     */
    public RegisteredSchema registerSchema(String subject, Schema schema) throws IOException {
        SubjectSchema key = new SubjectSchema(subject, schema);
        RegisteredSchema cached = registered.get(key);
        if (cached != null) {
            return cached;
        }
        JsonNode answer = call(HttpRequest.newBuilder(resolve("subjects/" + encode(subject) + "/versions"))
                .POST(schemaBody(schema)), "register a schema under subject " + subject);
        int id = answer.path("id").asInt(-1);
        if (id < 0) {
            throw new IOException("schema registry " + displayUrl + " answered a registration without an id: " + answer);
        }
        RegisteredSchema result = new RegisteredSchema(subject, null, id, guid(answer), schema);
        remember(key, result);
        return result;
    }

    /**
     * The registered schema under {@code subject} equal to {@code schema}, with its version: {@code POST
     * /subjects/{subject}}, what Confluent's serializer asks with {@code auto.register.schemas=false}.
     *
     * @throws SchemaNotFoundException when the subject does not exist (40401) or does not hold the schema (40403)
     */
    public RegisteredSchema lookUp(String subject, Schema schema) throws IOException {
        SubjectSchema key = new SubjectSchema(subject, schema);
        RegisteredSchema cached = registered.get(key);
        if (cached != null && cached.version() != null) {
            return cached;
        }
        JsonNode answer = call(HttpRequest.newBuilder(resolve("subjects/" + encode(subject))).POST(schemaBody(schema)),
                "look up a schema under subject " + subject);
        RegisteredSchema result = subjectSchema(subject, answer, "look up a schema under subject " + subject);
        remember(key, result);
        return result;
    }

    /**
     * Version {@code version} of {@code subject}, a number or {@code "latest"}: {@code GET
     * /subjects/{subject}/versions/{version}}. Never cached: "latest" moves.
     *
     * @throws SchemaNotFoundException when the subject (40401) or the version (40402) does not exist
     */
    public RegisteredSchema version(String subject, String version) throws IOException {
        String what = "read version " + version + " of subject " + subject;
        JsonNode answer = call(HttpRequest.newBuilder(
                resolve("subjects/" + encode(subject) + "/versions/" + encode(version))).GET(), what);
        RegisteredSchema result = subjectSchema(subject, answer, what);
        schemasById.put(result.id(), result.schema());
        if (result.guid() != null) {
            schemasByGuid.put(result.guid(), result.schema());
        }
        return result;
    }

    /**
     * Why {@code schema} may not be registered after version {@code version} of {@code subject} under the
     * subject's compatibility rules, as the registry words it: {@code POST
     * /compatibility/subjects/{subject}/versions/{version}?verbose=true}. Empty when it is compatible.
     */
    public List<String> incompatibilities(String subject, String version, Schema schema) throws IOException {
        JsonNode answer = call(HttpRequest.newBuilder(resolve("compatibility/subjects/" + encode(subject)
                        + "/versions/" + encode(version) + "?verbose=true")).POST(schemaBody(schema)),
                "test compatibility with version " + version + " of subject " + subject);
        if (answer.path("is_compatible").asBoolean(false)) {
            return List.of();
        }
        List<String> messages = new ArrayList<>();
        answer.path("messages").forEach(message -> messages.add(message.asText()));
        return messages.isEmpty() ? List.of("the registry gives no reason") : messages;
    }

    /**
     * The schema with {@code id}: {@code GET /schemas/ids/{id}}. A 404 is asked again, with backoff, before it
     * is believed: a registry replica may not yet have seen a schema its leader just registered.
     */
    public Schema schemaById(int id) throws IOException {
        Schema cached = schemasById.get(id);
        if (cached != null) {
            return cached;
        }
        Schema schema = lookUpWithRetries(id, "schemas/ids/" + id, "look up schema id " + id);
        schemasById.put(id, schema);
        return schema;
    }

    /** The schema with {@code guid}: {@code GET /schemas/guids/{guid}}, retried on 404 as {@link #schemaById}. */
    public Schema schemaByGuid(UUID guid) throws IOException {
        Schema cached = schemasByGuid.get(guid);
        if (cached != null) {
            return cached;
        }
        Schema schema = lookUpWithRetries(guid, "schemas/guids/" + guid, "look up schema guid " + guid);
        schemasByGuid.put(guid, schema);
        return schema;
    }

    private Schema lookUpWithRetries(Object key, String path, String what) throws IOException {
        Long missingUntil = knownMissing.get(key);
        if (missingUntil != null && System.nanoTime() - missingUntil < 0) {
            throw new SchemaNotFoundException("schema registry " + displayUrl + " cannot " + what
                    + ": not found " + (notFoundRetries + 1) + " times in the last "
                    + KNOWN_MISSING_FOR.toSeconds() + " s", 40403, "not found");
        }
        long backoffMs = notFoundBackoff.toMillis();
        for (int attempt = 0; ; attempt++) {
            try {
                return parse(call(HttpRequest.newBuilder(resolve(path)).GET(), what), what);
            } catch (SchemaNotFoundException e) {
                if (attempt >= notFoundRetries) {
                    // One poison record's retries are enough for every record that names the same id soon after.
                    knownMissing.put(key, System.nanoTime() + KNOWN_MISSING_FOR.toNanos());
                    throw e;
                }
            }
            try {
                Thread.sleep(backoffMs); // backoff between tries, not synchronisation
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while trying to " + what + " at " + displayUrl, e);
            }
            backoffMs *= 2;
        }
    }

    private Schema parse(JsonNode answer, String what) throws IOException {
        try {
            return new Schema.Parser().parse(answer.path("schema").asText());
        } catch (RuntimeException e) {
            throw new IOException("schema registry " + displayUrl + " answered a schema that is not Avro when asked to "
                    + what + ": " + e.getMessage(), e);
        }
    }

    private RegisteredSchema subjectSchema(String subject, JsonNode answer, String what) throws IOException {
        int id = answer.path("id").asInt(-1);
        if (id < 0 || !answer.path("version").canConvertToInt()) {
            throw new IOException("schema registry " + displayUrl + " answered without an id or version when asked to "
                    + what + ": " + answer);
        }
        return new RegisteredSchema(subject, answer.path("version").asInt(), id, guid(answer), parse(answer, what));
    }

    private void remember(SubjectSchema key, RegisteredSchema registeredSchema) {
        registered.put(key, registeredSchema);
        schemasById.put(registeredSchema.id(), registeredSchema.schema());
        if (registeredSchema.guid() != null) {
            schemasByGuid.put(registeredSchema.guid(), registeredSchema.schema());
        }
    }

    private UUID guid(JsonNode answer) throws IOException {
        String text = answer.path("guid").asText(null);
        try {
            return text == null || text.isEmpty() ? null : UUID.fromString(text);
        } catch (IllegalArgumentException e) {
            throw new IOException("schema registry " + displayUrl + " answered a guid that is not a UUID: " + text, e);
        }
    }

    private static HttpRequest.BodyPublisher schemaBody(Schema schema) throws IOException {
        return HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(Map.of("schema", schema.toString())));
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
        int status = response.statusCode();
        if (status / 100 == 2) {
            return JSON.readTree(response.body());
        }
        int errorCode = status;
        String message = response.body();
        try {
            JsonNode error = JSON.readTree(response.body());
            errorCode = error.path("error_code").asInt(status);
            message = error.path("message").asText(message);
        } catch (IOException notJson) {
            // a proxy's HTML page: keep the body as the message
        }
        if (status == 401 || status == 403) {
            throw new SchemaRegistryRefusalException("schema registry " + displayUrl + " refused to " + what + ": HTTP "
                    + status + (user == null
                            ? " without credentials; set glm.kafka.schema-registry.basic-auth.user-info"
                                    + " (and credentials-source USER_INFO) or user:password@ in the URL"
                            : status == 401
                                    ? " for user " + user + "; check the password (glm.kafka.schema-registry.basic-auth.*)"
                                    : " for user " + user + ", who lacks the permission; ask the registry's owners"
                                            + " to grant it, or use credentials that have it")
                    + ": " + response.body(), status, errorCode, message);
        }
        if (status == 404) {
            throw new SchemaNotFoundException("schema registry " + displayUrl + " cannot " + what + ": " + response.body(),
                    errorCode, message);
        }
        if (status / 100 == 4 && status != 408 && status != 429) {
            throw new SchemaRegistryRefusalException("schema registry " + displayUrl + " refused to " + what + ": HTTP "
                    + status + " " + response.body(), status, errorCode, message);
        }
        // 408, 429 and 5xx: the registry is busy or down; the caller fails and retries later
        throw new IOException("schema registry " + displayUrl + " failed to " + what + ": HTTP " + status + " "
                + response.body());
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
