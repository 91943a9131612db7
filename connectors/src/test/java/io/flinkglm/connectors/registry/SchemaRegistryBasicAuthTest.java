package io.flinkglm.connectors.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkglm.connectors.formats.RecordSchemas;
import io.flinkglm.records.Prompt;
import io.flinkglm.testkit.LocalSchemaRegistry;
import java.io.IOException;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Basic auth against a registry that requires it, with Confluent's two credentials sources; a refusal is a
 * clear 401 that names the user but never the password, and no password is ever printed.
 */
class SchemaRegistryBasicAuthTest {

    private static final String USER = "svc-glm";
    private static final String PASSWORD = "s3cret-Pw";
    private static final String WRONG = "wrong-Pw";
    private static final Schema PROMPT = RecordSchemas.of(Prompt.class);

    private static LocalSchemaRegistry registry;

    @BeforeAll
    static void start() throws IOException {
        registry = LocalSchemaRegistry.startWithBasicAuth(USER, PASSWORD);
    }

    @AfterAll
    static void stop() {
        registry.close();
    }

    private static String url() {
        return registry.url().toString();
    }

    private static String urlWith(String userInfo) {
        return url().replace("http://", "http://" + userInfo + "@");
    }

    static Stream<Arguments> rightCredentials() {
        return Stream.of(
                Arguments.of("USER_INFO", SchemaRegistryConfig.of(url()).withUserInfo(USER + ":" + PASSWORD)),
                Arguments.of("URL", SchemaRegistryConfig.of(urlWith(USER + ":" + PASSWORD))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rightCredentials")
    void theRightCredentialsRegisterAndLookUpSchemas(String source, SchemaRegistryConfig config) throws IOException {
        int id = new SchemaRegistryClient(config).register("glm.prompts-value", PROMPT);

        assertThat(new SchemaRegistryClient(config).schemaById(id)).isEqualTo(PROMPT);
    }

    static Stream<Arguments> refusedCredentials() {
        return Stream.of(
                Arguments.of("none", SchemaRegistryConfig.of(url()), "without credentials"),
                Arguments.of("USER_INFO", SchemaRegistryConfig.of(url()).withUserInfo(USER + ":" + WRONG), "user " + USER),
                Arguments.of("URL", SchemaRegistryConfig.of(urlWith(USER + ":" + WRONG)), "user " + USER));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedCredentials")
    void refusedCredentialsAreAClear401WithoutThePassword(String source, SchemaRegistryConfig config, String who) {
        SchemaRegistryClient client = new SchemaRegistryClient(config);

        assertThatThrownBy(() -> client.register("glm.prompts-value", PROMPT))
                .isInstanceOf(IOException.class)
                .isNotInstanceOf(SchemaNotFoundException.class)
                .hasMessageContaining("schema registry " + url())
                .hasMessageContaining("HTTP 401")
                .hasMessageContaining(who)
                .message().doesNotContain(WRONG).doesNotContain(PASSWORD);
    }

    @Test
    void neitherTheClientNorItsConfigPrintsThePassword() {
        for (SchemaRegistryConfig config : new SchemaRegistryConfig[] {
            SchemaRegistryConfig.of(urlWith(USER + ":" + PASSWORD)),
            SchemaRegistryConfig.of(url()).withUserInfo(USER + ":" + PASSWORD)}) {
            assertThat(config.toString()).contains(USER).doesNotContain(PASSWORD);
            assertThat(new SchemaRegistryClient(config).toString()).contains(url()).doesNotContain(PASSWORD);
        }
        assertThatThrownBy(() -> SchemaRegistryConfig.of("ftp://" + USER + ":" + PASSWORD + "@registry:8081"))
                .hasMessageContaining("must be http(s)://host:port")
                .message().doesNotContain(PASSWORD);
    }

    @Test
    void userInfoWithTheUrlSourceOrAnUnreadableTruststoreIsAnErrorNamingTheOption() {
        assertThatThrownBy(() -> new SchemaRegistryConfig(url(), SchemaRegistryConfig.CredentialsSource.URL,
                        USER + ":" + PASSWORD, null, null, null))
                .hasMessageContaining("credentials-source")
                .message().doesNotContain(PASSWORD);
        assertThatThrownBy(() -> new SchemaRegistryClient(
                        SchemaRegistryConfig.of(url()).withTruststore("/no/such/truststore.p12", "changeit", "PKCS12")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("/no/such/truststore.p12")
                .hasMessageContaining("glm.kafka.schema-registry.ssl.truststore");
    }
}
