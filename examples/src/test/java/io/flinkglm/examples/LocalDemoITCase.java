package io.flinkglm.examples;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.flinkglm.connectors.formats.WireJson;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
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

    @Test
    void aLineThatIsNotUtf8OrOverOneMebibyteIsADeadLetterNotACrash(@TempDir Path tempDir) throws Exception {
        byte[] notUtf8 = {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'};
        String big = "{\"request_id\":\"big\",\"conversation_id\":\"conv-big\",\"task\":\"chat\",\"text\":\""
                + "a".repeat(1_100_000) + "\"}";
        Path input = tempDir.resolve("prompts.jsonl");
        Files.write(input, concat(Files.readAllBytes(SAMPLE), "\n".getBytes(UTF_8), notUtf8, "\n".getBytes(UTF_8),
                big.getBytes(UTF_8), "\n".getBytes(UTF_8)));
        Path output = tempDir.resolve("demo.jsonl");

        LocalDemo.run(new String[] {"--input", input.toString(), "--output", output.toString(),
            "--glm.model.path", tempDir.resolve("model").toString(), "--glm.generation.max-tokens", "4"});

        List<JsonNode> dead = new ArrayList<>();
        for (String line : Files.readAllLines(output, UTF_8)) {
            JsonNode node = WireJson.MAPPER.readTree(line);
            if (node.get("topic").asText().equals("glm.dead-letters")) {
                dead.add(node.get("record"));
            }
        }
        assertThat(dead).extracting(letter -> letter.get("reason").asText().replaceAll(":.*", ""))
                .containsExactlyInAnyOrder("invalid_json", "invalid_utf8", "oversized");
        assertThat(dead).filteredOn(letter -> letter.get("reason").asText().startsWith("invalid_utf8"))
                .singleElement()
                .satisfies(letter -> assertThat(Base64.getDecoder().decode(letter.get("original").asText()))
                        .isEqualTo(notUtf8));
    }

    @Test
    void withATaskFailureEveryTwoPromptsTheOutputEqualsARunWithoutFailures(@TempDir Path tempDir) throws Exception {
        Path model = tempDir.resolve("model");
        Path clean = tempDir.resolve("clean.jsonl");
        Path failing = tempDir.resolve("failing.jsonl");
        String[] common = {"--input", SAMPLE.toString(), "--glm.model.path", model.toString(),
            "--glm.generation.max-tokens", "4"};
        LocalDemo.run(concat(common, "--output", clean.toString()));
        int injectedBefore = FailureInjector.INJECTED.get();

        LocalDemo.run(concat(common, "--output", failing.toString(), "--fail-every", "2"));

        assertThat(FailureInjector.INJECTED.get() - injectedBefore)
                .as("failures injected").isEqualTo(LocalDemo.INJECTED_FAILING_ATTEMPTS);
        assertThat(withoutTimings(failing)).isEqualTo(withoutTimings(clean)).isNotEmpty();
    }

    @Test
    void withSqlTheModerationScriptGivesEveryRowOfTheInputOneCommittedVerdict(@TempDir Path tempDir) throws Exception {
        Path output = tempDir.resolve("verdicts.jsonl");

        LocalDemo.Summary summary = LocalDemo.run(new String[] {"--sql", "sql/moderation.sql",
            "--input", SAMPLE.toString(), "--output", output.toString(),
            "--glm.model.path", tempDir.resolve("model").toString()});

        // The script's JSON format skips the malformed line (json.ignore-parse-errors); every other line is a row.
        List<String> rows = new ArrayList<>();
        List<String> withText = new ArrayList<>();
        for (String line : Files.readAllLines(SAMPLE, UTF_8)) {
            try {
                JsonNode prompt = WireJson.MAPPER.readTree(line);
                rows.add(prompt.get("request_id").asText());
                if (prompt.has("text")) {
                    withText.add(prompt.get("request_id").asText());
                }
            } catch (Exception malformed) {
                // not a row
            }
        }
        assertThat(summary.recordsByTopic()).containsExactly(java.util.Map.entry("glm.sql.verdicts", rows.size()));
        List<JsonNode> out = new ArrayList<>();
        for (String line : Files.readAllLines(output, UTF_8)) {
            out.add(WireJson.MAPPER.readTree(line));
        }
        assertThat(out).allSatisfy(line -> assertThat(line.get("topic").asText()).isEqualTo("glm.sql.verdicts"));
        assertThat(out).extracting(line -> line.get("record").get("request_id").asText())
                .containsExactlyInAnyOrderElementsOf(rows);
        assertThat(out).map(line -> line.get("record"))
                .filteredOn(verdict -> withText.contains(verdict.get("request_id").asText()))
                .hasSize(withText.size())
                .allSatisfy(verdict -> {
                    assertThat(verdict.get("flagged").isBoolean()).isTrue();
                    assertThat(verdict.get("error").isNull()).isTrue();
                });
    }

    /**
     * The output's lines without what differs between any two runs: a completion's timings, a dead letter's
     * time stamp, and the order in which different conversations finish.
     */
    private static List<String> withoutTimings(Path output) throws Exception {
        List<String> lines = new ArrayList<>();
        for (String line : Files.readAllLines(output, UTF_8)) {
            JsonNode node = WireJson.MAPPER.readTree(line);
            ((com.fasterxml.jackson.databind.node.ObjectNode) node.get("record"))
                    .remove(List.of("queue_ms", "ttft_ms", "total_ms", "timestamp_ms"));
            lines.add(WireJson.MAPPER.writeValueAsString(node));
        }
        return lines.stream().sorted().toList();
    }

    private static String[] concat(String[] head, String... tail) {
        String[] all = Arrays.copyOf(head, head.length + tail.length);
        System.arraycopy(tail, 0, all, head.length, tail.length);
        return all;
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }
}
