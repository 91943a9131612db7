package io.flinkglm.runtime.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkglm.runtime.testing.SharedData;
import io.flinkglm.runtime.tokenizer.SyntheticTokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code bin/glm} as a user drives it: JSON on stdout, one clear line on stderr, exit codes. */
class GlmCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path models;
    static Path tiny;

    record Run(int code, String out, String err) {
        JsonNode json() throws Exception {
            return JSON.readTree(out);
        }
    }

    @BeforeAll
    static void makeModel() {
        tiny = models.resolve("tiny");
        Run r = glm("", "make-model", "--out", tiny.toString(), "--preset", "tiny", "--dtype", "f32", "--seed", "9");
        assertThat(r.code()).as(r.err()).isZero();
    }

    @Test
    void logitsHaveOneRowPerPositionOfVocabularyWidth() throws Exception {
        Run r = glm("", "logits", "--model", tiny.toString(), "--tokens", "1,2,3");

        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.json()).hasSize(3);
        assertThat(r.json().get(2)).hasSize(1024);
    }

    @Test
    void generateFromMessagesDecodesTextAndIsReproducibleWithASeed() throws Exception {
        Path messages = models.resolve("messages.json");
        Files.writeString(messages, "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"你好, GLM\"}]");
        String[] args = {"generate", "--model", tiny.toString(), "--messages", messages.toString(),
                "--max-tokens", "6", "--temperature", "0.9", "--seed", "5"};

        Run first = glm("", args);
        Run second = glm("", args);

        assertThat(first.code()).as(first.err()).isZero();
        assertThat(first.json().get("token_ids")).hasSize(6);
        assertThat(first.json().get("finish_reason").asText()).isEqualTo("length");
        assertThat(first.json().get("text").asText()).isNotNull();
        assertThat(second.json().get("token_ids")).isEqualTo(first.json().get("token_ids"));
    }

    @Test
    void generateFromTokensWorksWithoutATokenizer() throws Exception {
        Run r = glm("", "generate", "--model", tiny.toString(), "--tokens", "5,6,7", "--max-tokens", "3");

        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.json().get("token_ids")).hasSize(3);
    }

    @Test
    void generateKeepsTokensTheTokenizerCannotSpell() throws Exception {
        // As GLM-4 (151,552 rows, 151,343 tokens): a model of 1,024 rows over a tokenizer of 1,000.
        Path padded = models.resolve("padded");
        assertThat(glm("", "make-model", "--out", padded.toString(), "--preset", "tiny", "--dtype", "f32").code())
                .isZero();
        SyntheticTokenizer.write(padded, 1000);

        // A near-flat random model at temperature 1 draws 2.3% padding ids: seed 3 draws some in 64.
        Run r = glm("", "generate", "--model", padded.toString(), "--prompt", "hi", "--max-tokens", "64",
                "--temperature", "1", "--seed", "3");

        assertThat(r.code()).as(r.err()).isZero();
        List<Integer> ids = new ArrayList<>();
        r.json().get("token_ids").forEach(id -> ids.add(id.asInt()));
        assertThat(ids).anyMatch(id -> id >= 1000);
        assertThat(r.json().get("text").asText()).isNotNull();
    }

    @Test
    void generateWithAJsonSchemaPrintsJsonThatHasTheSchemasShape() throws Exception {
        Path schema = models.resolve("schema.json");
        Files.writeString(schema, "{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"},"
                + "\"level\":{\"enum\":[\"low\",\"high\"]}},\"required\":[\"ok\",\"level\"],\"additionalProperties\":false}");

        Run r = glm("", "generate", "--model", tiny.toString(), "--prompt", "status?", "--max-tokens", "64",
                "--temperature", "1", "--seed", "4", "--json-schema", schema.toString());

        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.json().get("finish_reason").asText()).isEqualTo("stop");
        JsonNode answer = JSON.readTree(r.json().get("text").asText());
        assertThat(answer.get("ok").isBoolean()).isTrue();
        assertThat(answer.get("level").asText()).isIn("low", "high");
    }

    @Test
    void generateWithAChoicePrintsOneOfTheOptions() throws Exception {
        Run r = glm("", "generate", "--model", tiny.toString(), "--prompt", "pick", "--max-tokens", "16",
                "--temperature", "1", "--seed", "2", "--choice", "alpha,beta,gamma");

        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.json().get("text").asText()).isIn("alpha", "beta", "gamma");
    }

    @Test
    void anUnsupportedConstraintIsAUsageMistakeNamingIt() throws Exception {
        Path schema = models.resolve("bad-schema.json");
        Files.writeString(schema, "{\"type\":\"number\",\"minimum\":0}");

        Run badSchema = glm("", "generate", "--model", tiny.toString(), "--prompt", "x", "--json-schema", schema.toString());
        Run badRegex = glm("", "generate", "--model", tiny.toString(), "--prompt", "x", "--regex", "(a)\\1");
        Run both = glm("", "generate", "--model", tiny.toString(), "--prompt", "x", "--regex", "a", "--choice", "a,b");

        assertThat(badSchema.code()).isEqualTo(2);
        assertThat(badSchema.err()).contains("'minimum'");
        assertThat(badRegex.code()).isEqualTo(2);
        assertThat(both.code()).isEqualTo(2);
    }

    @Test
    void tokenizeThenDetokenizeRoundTripsAndSpecialsNeedTheFlag() throws Exception {
        String text = "Hello 世界 <|user|> 🚀";
        Run ids = glm(text, "tokenize", "--model", tiny.toString());
        Run back = glm(ids.out(), "detokenize", "--model", tiny.toString());
        Run special = glm("<|user|>", "tokenize", "--model", tiny.toString(), "--special");

        assertThat(back.out()).isEqualTo(text);
        assertThat(special.json()).hasSize(1);
        assertThat(ids.json().size()).isGreaterThan(3);
    }

    @Test
    void renderMatchesTheConformanceVectors() throws Exception {
        JsonNode chat = JSON.readTree(SharedData.glm4().resolve("conformance.json").toFile()).get("chat");
        for (JsonNode vector : chat) {
            Run r = glm(JSON.writeValueAsString(vector.get("messages")), "render", "--model", tiny.toString());
            assertThat(r.out()).isEqualTo(vector.get("rendered").asText());
        }
    }

    @Test
    void tokenOutsideTheVocabularyIsOneClearMessage() {
        Run r = glm("", "logits", "--model", tiny.toString(), "--tokens", "1,99999");

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("token id 99999 is outside the vocabulary of 1024").doesNotContain("Exception");
    }

    @Test
    void promptLongerThanTheModelAllowsIsRejected() throws Exception {
        Path small = models.resolve("short-context");
        glm("", "make-model", "--out", small.toString(), "--preset", "tiny");
        Path config = small.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"max_position_embeddings\" : 4096",
                "\"max_position_embeddings\" : 4"));

        Run r = glm("", "generate", "--model", small.toString(), "--tokens", "1,2,3,4,5");

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("longer than max_position_embeddings 4");
    }

    @Test
    void maxTokensBeyondTheContextGeneratesToTheContextsEnd() throws Exception {
        Path small = models.resolve("context-16");
        glm("", "make-model", "--out", small.toString(), "--preset", "tiny", "--dtype", "f32");
        Path config = small.resolve("config.json");
        Files.writeString(config, Files.readString(config).replace("\"max_position_embeddings\" : 4096",
                "\"max_position_embeddings\" : 16"));

        Run r = glm("", "generate", "--model", small.toString(), "--tokens", "1,2,3", "--max-tokens", "2147483647");

        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.json().get("finish_reason").asText()).isEqualTo("length");
        assertThat(r.json().get("token_ids")).hasSize(16 - 3);
    }

    @Test
    void tokenListWithoutIdsIsAUsageMistake() {
        Run commas = glm("", "generate", "--model", tiny.toString(), "--tokens", ",,,");
        Run gap = glm("", "logits", "--model", tiny.toString(), "--tokens", "1,,2");

        assertThat(commas.code()).isEqualTo(2);
        assertThat(commas.err()).contains("--tokens needs comma-separated integers such as 1,2,3, got ',,,'");
        assertThat(gap.code()).isEqualTo(2);
        assertThat(gap.err()).contains("got '1,,2'");
    }

    @Test
    void samplingValuesOutOfRangeAreUsageMistakes() {
        Run zero = glm("", "generate", "--model", tiny.toString(), "--tokens", "1", "--max-tokens", "0");
        Run topP = glm("", "generate", "--model", tiny.toString(), "--tokens", "1", "--top-p", "NaN");

        assertThat(zero.code()).isEqualTo(2);
        assertThat(zero.err()).contains("sampling.max_tokens must be at least 1, got 0");
        assertThat(topP.code()).isEqualTo(2);
        assertThat(topP.err()).contains("sampling.top_p").contains("NaN");
    }

    @Test
    void invalidUtf8AndUnknownRolesAreReported() {
        Run utf8 = glmBytes(new byte[] {(byte) 0xff, (byte) 0xfe}, "tokenize", "--model", tiny.toString());
        Run role = glm("[{\"role\":\"wizard\",\"content\":\"hi\"}]", "render", "--model", tiny.toString());

        assertThat(utf8.code()).isEqualTo(1);
        assertThat(utf8.err()).contains("not valid UTF-8");
        assertThat(role.code()).isEqualTo(1);
        assertThat(role.err()).contains("unknown role 'wizard'");
    }

    @Test
    void usageMistakesExitWithTwo() {
        assertThat(glm("", "logits", "--model", tiny.toString()).code()).isEqualTo(2);
        assertThat(glm("", "logits", "--model", tiny.toString(), "--tokens", "1", "--tokenz", "2").err())
                .contains("unknown option --tokenz");
        assertThat(glm("", "summon").code()).isEqualTo(2);
    }

    @Test
    void missingModelDirectoryNamesTheFile() {
        Run r = glm("", "logits", "--model", models.resolve("nope").toString(), "--tokens", "1");

        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("config.json").contains("not found");
    }

    private static Run glm(String stdin, String... argv) {
        return glmBytes(stdin.getBytes(StandardCharsets.UTF_8), argv);
    }

    private static Run glmBytes(byte[] stdin, String... argv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Glm.run(argv, new ByteArrayInputStream(stdin), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
