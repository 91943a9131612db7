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
}
