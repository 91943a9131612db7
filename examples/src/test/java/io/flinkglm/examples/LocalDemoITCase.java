package io.flinkglm.examples;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.flinkglm.connectors.formats.WireJson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo as bin/demo runs it, on the sample input shipped in data/prompts.jsonl. */
class LocalDemoITCase {

    private static final Path SAMPLE = Path.of("data/prompts.jsonl");

    @Test
    void everyValidPromptIsAnsweredAndTheMalformedLineIsADeadLetterWithItsReason(@TempDir Path tempDir)
            throws Exception {
        Path output = tempDir.resolve("out/demo.jsonl");

        LocalDemo.Summary summary = LocalDemo.run(new String[] {
            "--input", SAMPLE.toString(), "--output", output.toString(),
            "--glm.model.path", tempDir.resolve("model").toString(), "--glm.generation.max-tokens", "8"});

        List<String> inputLines = Files.readAllLines(SAMPLE, UTF_8).stream().filter(l -> !l.isBlank()).toList();
        List<String> validRequestIds = new ArrayList<>();
        List<String> malformedLines = new ArrayList<>();
        for (String line : inputLines) {
            try {
                validRequestIds.add(WireJson.MAPPER.readTree(line).get("request_id").asText());
            } catch (Exception e) {
                malformedLines.add(line);
            }
        }
        assertThat(malformedLines).as("the sample's malformed lines").hasSize(1);
        String malformed = malformedLines.get(0);
        assertThat(summary.inputLines()).isEqualTo(inputLines.size());

        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(output, UTF_8)) {
            out.add(WireJson.MAPPER.readTree(line));
        }
        List<String> answered = out.stream()
                .filter(n -> List.of("glm.completions", "glm.function-calls").contains(n.get("topic").asText()))
                .map(n -> n.get("record").get("request_id").asText())
                .toList();
        assertThat(answered).containsExactlyInAnyOrderElementsOf(validRequestIds);
        assertThat(answered).containsSubsequence("trip-1", "trip-2");

        List<JsonNode> dead = out.stream().filter(n -> n.get("topic").asText().equals("glm.dead-letters"))
                .map(n -> n.get("record")).toList();
        assertThat(dead).singleElement().satisfies(letter -> {
            assertThat(letter.get("reason").asText()).startsWith("invalid_json:");
            assertThat(letter.get("stage").asText()).isEqualTo("decode");
            assertThat(new String(Base64.getDecoder().decode(letter.get("original").asText()), UTF_8)).isEqualTo(malformed);
        });
    }
}
