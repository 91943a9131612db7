package io.flinkglm.connectors.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkglm.connectors.formats.RecordSchemas;
import io.flinkglm.records.Completion;
import io.flinkglm.records.Prompt;
import io.flinkglm.testkit.LocalSchemaRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.UUID;
import org.apache.avro.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SchemaRegistryClientTest {

    private static final Schema PROMPT = RecordSchemas.of(Prompt.class);
    private static final Schema COMPLETION = RecordSchemas.of(Completion.class);

    private LocalSchemaRegistry registry;
    private SchemaRegistryClient client;

    @BeforeEach
    void start() throws IOException {
        registry = LocalSchemaRegistry.start();
        client = new SchemaRegistryClient(registry.url());
    }

    @AfterEach
    void stop() {
        registry.close();
    }

    @Test
    void registerReturnsTheRegistrysIdAndSameSchemaKeepsItsId() throws IOException {
        int promptId = client.register("glm.prompts-value", PROMPT);
        int completionId = client.register("glm.completions-value", COMPLETION);

        assertThat(promptId).isNotEqualTo(completionId);
        assertThat(new SchemaRegistryClient(registry.url()).register("glm.prompts-value", PROMPT)).isEqualTo(promptId);
    }

    @Test
    void lookupByIdReturnsTheSchemaAnotherProducerRegistered() throws IOException {
        int id = registry.register("glm.prompts-value", PROMPT);

        assertThat(client.schemaById(id)).isEqualTo(PROMPT);
    }

    @Test
    void repeatedRegisterAndLookupAreServedFromTheCache() throws IOException {
        int id = client.register("glm.prompts-value", PROMPT);
        int otherId = registry.register("glm.completions-value", COMPLETION);
        client.schemaById(otherId);
        int requestsAfterFirstCalls = registry.requestCount();

        client.register("glm.prompts-value", PROMPT);
        client.schemaById(id); // cached by register: no lookup needed for our own schema
        client.schemaById(otherId);

        assertThat(requestsAfterFirstCalls).isEqualTo(2);
        assertThat(registry.requestCount()).isEqualTo(requestsAfterFirstCalls);
    }

    @Test
    void unknownIdIsSchemaNotFound() {
        assertThatThrownBy(() -> client.schemaById(999))
                .isInstanceOf(SchemaNotFoundException.class)
                .hasMessageContaining("40403");
    }

    @Test
    void serverSpeaksConfluentContentTypeAndShapes() throws Exception {
        int id = registry.register("s", PROMPT);

        HttpResponse<String> response = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(registry.url() + "/schemas/ids/" + id)).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.headers().firstValue("Content-Type")).hasValue(SchemaRegistryClient.CONTENT_TYPE);
        assertThat(response.body()).startsWith("{\"schema\":\"{\\\"type\\\":\\\"record\\\"");
    }

    @Test
    void unreachableRegistryIsAnIoErrorNotSchemaNotFound() {
        registry.close();

        assertThatThrownBy(() -> client.schemaById(1))
                .isInstanceOf(IOException.class)
                .isNotInstanceOf(SchemaNotFoundException.class);
    }

    @Test
    void aGuidIsLookedUpAndCachedLikeAnId() throws IOException {
        int id = registry.register("glm.prompts-value", PROMPT);
        UUID guid = registry.guid(id);

        assertThat(client.schemaByGuid(guid)).isEqualTo(PROMPT);
        assertThat(client.schemaByGuid(guid)).isEqualTo(PROMPT);
        assertThat(registry.requests()).containsExactly("GET /schemas/guids/" + guid);
    }

    @Test
    void registrationAnswersCarryTheGuidAndVersionsCarryTheirNumber() throws IOException {
        RegisteredSchema registered = client.registerSchema("glm.prompts-value", PROMPT);
        RegisteredSchema latest = client.version("glm.prompts-value", "latest");

        assertThat(registered.guid()).isEqualTo(registry.guid(registered.id()));
        assertThat(latest).isEqualTo(new RegisteredSchema("glm.prompts-value", 1, registered.id(), registered.guid(), PROMPT));
        assertThat(client.lookUp("glm.prompts-value", PROMPT)).isEqualTo(latest);
    }

    @Test
    void aMissingSubjectVersionOrSchemaIsNotFoundWithConfluentsCodes() {
        registry.register("glm.prompts-value", PROMPT);

        assertThatThrownBy(() -> client.version("nope-value", "latest"))
                .isInstanceOfSatisfying(SchemaNotFoundException.class, e -> assertThat(e.errorCode()).isEqualTo(40401));
        assertThatThrownBy(() -> client.version("glm.prompts-value", "7"))
                .isInstanceOfSatisfying(SchemaNotFoundException.class, e -> assertThat(e.errorCode()).isEqualTo(40402));
        assertThatThrownBy(() -> client.lookUp("glm.prompts-value", COMPLETION))
                .isInstanceOfSatisfying(SchemaNotFoundException.class, e -> assertThat(e.errorCode()).isEqualTo(40403));
    }

    @Test
    void compatibilityAnswersWhyASchemaCannotFollowAVersion() throws IOException {
        registry.register("glm.prompts-value", PROMPT);

        assertThat(client.incompatibilities("glm.prompts-value", "latest", PROMPT)).isEmpty();
        assertThat(client.incompatibilities("glm.prompts-value", "1", COMPLETION))
                .first().asString().contains("NAME_MISMATCH");
    }

    @Test
    void aLookUpThatALaggingReplicaAnswers404IsRetriedUntilItIsFound() throws IOException {
        int id = registry.register("glm.prompts-value", PROMPT);
        registry.missNextLookUps(SchemaRegistryClient.NOT_FOUND_RETRIES);

        assertThat(client.schemaById(id)).isEqualTo(PROMPT);
        assertThat(registry.requestCount()).isEqualTo(SchemaRegistryClient.NOT_FOUND_RETRIES + 1);
    }

    @Test
    void anIdStill404AfterTheRetriesIsNotFoundAndNotAskedForAgainAtOnce() {
        assertThatThrownBy(() -> client.schemaById(999)).isInstanceOf(SchemaNotFoundException.class);
        int afterRetries = registry.requestCount();
        assertThatThrownBy(() -> client.schemaById(999)).isInstanceOf(SchemaNotFoundException.class);

        assertThat(afterRetries).isEqualTo(SchemaRegistryClient.NOT_FOUND_RETRIES + 1);
        assertThat(registry.requestCount()).isEqualTo(afterRetries);
    }

    @Test
    void theCachesAreBounded() throws IOException {
        var cache = new BoundedCache<Integer, Integer>(3);
        for (int i = 0; i < 10; i++) {
            cache.put(i, i);
        }

        assertThat(cache.size()).isEqualTo(3);
        assertThat(cache.get(9)).isEqualTo(9);
        assertThat(cache.get(0)).isNull();
    }
}
