package io.flinkglm.runtime.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.cpu.CpuBackend;
import io.flinkglm.runtime.chat.AssistantReply;
import io.flinkglm.runtime.chat.ToolCallValidator;
import io.flinkglm.runtime.chat.ToolChoice;
import io.flinkglm.runtime.chat.ValidatedToolCall;
import io.flinkglm.runtime.constraint.Constraint;
import io.flinkglm.runtime.engine.GenerationResult.FinishReason;
import io.flinkglm.runtime.testing.TinyModels;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import io.flinkglm.runtime.tokenizer.SyntheticTokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.flinkglm.runtime.engine.ReferenceGeneration.prompt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Constrained generation end to end on a random model with a synthetic 512-token vocabulary: left
 * alone it emits garbage, so every valid output is the constraint's doing. Outputs that end with a
 * stop token are checked by independent parsers (Jackson and networknt's validator, java.util.regex),
 * outputs cut by the length limit must be valid prefixes.
 */
class ConstrainedGenerationTest {
    private static final int VOCAB = 512;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonSchemaFactory SCHEMAS = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    private static final Backend BACKEND = new CpuBackend(TinyModels.random(TinyModels.config(64, 2, 4, 2, 16, VOCAB), 5));

    /** Ten schemas of the kinds extraction uses; each line is one. */
    static final List<String> SCHEMAS_UNDER_TEST = List.of(
            """
            {"type":"object","properties":{"category":{"enum":["bug","feature","question"]},"urgency":{"type":"integer"},\
            "escalate":{"type":"boolean"}},"required":["category","urgency","escalate"],"additionalProperties":false}""",
            """
            {"type":"object","properties":{"user":{"type":"object","properties":{"name":{"type":"string","maxLength":8},\
            "age":{"type":"integer"}},"required":["name"]},"active":{"type":"boolean"}},"required":["user"]}""",
            """
            {"type":"array","items":{"type":"number"},"minItems":1,"maxItems":4}""",
            """
            {"type":"string","pattern":"^[a-z]{1,6}@[a-z]{1,5}\\\\.(com|org)$"}""",
            """
            {"anyOf":[{"type":"integer"},{"type":"object","properties":{"x":{"type":"null"}},"required":["x"],\
            "additionalProperties":false}]}""",
            """
            {"type":"object","properties":{"v":{"const":"1.0"},"k":{"enum":[1,"two",null,true,{"a":[1]}]}},"required":["v","k"]}""",
            """
            {"type":"string","minLength":2,"maxLength":5}""",
            """
            {"type":"object","properties":{"s":{"type":"string","maxLength":3},"n":{"type":["number","null","boolean"]}}}""",
            """
            {"type":"array","items":{"type":"object","properties":{"id":{"type":"integer"},"ok":{"type":"boolean"}},\
            "required":["id","ok"],"additionalProperties":false},"maxItems":3}""",
            """
            {"type":"object","properties":{"summary":{"type":"string","maxLength":6},"tags":{"type":"array",\
            "items":{"enum":["a","b"]},"minItems":2,"maxItems":2}},"required":["summary","tags"],"additionalProperties":false}""");

    @TempDir
    static Path dir;
    static Glm4Tokenizer tokenizer;

    @BeforeAll
    static void tokenizer() throws Exception {
        tokenizer = Glm4Tokenizer.load(SyntheticTokenizer.write(dir, VOCAB));
    }

    private static InferenceEngine engine() {
        return InferenceEngine.builder(BACKEND).kvBlocks(1024).maxRunningSequences(64).maxBatchTokens(1024)
                .tokenizer(tokenizer).build();
    }

    private static SamplingParams sampling(long seed, int maxTokens) {
        return SamplingParams.builder().temperature(1.0).seed(seed).maxTokens(maxTokens)
                .stopTokenIds(Arrays.stream(tokenizer.stopIds()).boxed().toList()).build();
    }

    /** {@code n} requests under {@code c}, prompts and seeds varying, all in flight together. */
    private static List<GenerationResult> generate(InferenceEngine engine, Constraint c, int n, int maxTokens)
            throws Exception {
        List<RequestHandle> handles = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            handles.add(engine.submit(GenerationRequest.builder("r" + i, prompt(i, 4 + i % 7, VOCAB - 14))
                    .sampling(sampling(1000 + i, maxTokens)).constraint(c).build()));
        }
        List<GenerationResult> results = new ArrayList<>();
        for (RequestHandle h : handles) {
            results.add(h.result().get(120, TimeUnit.SECONDS));
        }
        return results;
    }

    private static byte[] bytes(int[] tokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int t : tokens) {
            out.writeBytes(tokenizer.tokenBytes(t));
        }
        return out.toByteArray();
    }

    @Test
    void everyStoppedOutputValidatesAgainstItsSchemaAndEveryCutOneIsAValidPrefix() throws Exception {
        try (InferenceEngine engine = engine()) {
            for (String schemaText : SCHEMAS_UNDER_TEST) {
                Constraint c = Constraint.jsonSchema(schemaText);
                JsonSchema validator = SCHEMAS.getSchema(schemaText);
                int stopped = 0;
                for (GenerationResult r : generate(engine, c, 200, 48)) {
                    byte[] out = bytes(r.outputTokens());
                    String text = new String(out, StandardCharsets.UTF_8);
                    assertThat(r.finishReason()).as(text).isIn(FinishReason.STOP, FinishReason.LENGTH);
                    if (r.finishReason() == FinishReason.STOP) {
                        stopped++;
                        assertThat(r.stopTokenId()).isIn(Arrays.stream(tokenizer.stopIds()).boxed().toList());
                        JsonNode parsed = JSON.readTree(text);
                        assertThat(validator.validate(parsed)).as("%s under %s", text, schemaText).isEmpty();
                    } else {
                        assertThat(c.advance(c.startState(), out)).as("prefix %s", text).isNotNegative();
                    }
                }
                assertThat(stopped).as("requests of 200 that finished under %s", schemaText).isPositive();
            }
        }
    }

    @Test
    void everyStoppedOutputMatchesItsRegexAndEveryCutOneCanStillMatch() throws Exception {
        List<String> regexes = List.of("[A-Z]{3}-\\d{2,4}", "(yes|no|maybe)( because [a-z ]{1,12})?",
                "-?\\d+(\\.\\d{1,2})?", "[^\\n]{1,6}\\n?", "(?:ab|c)*d", "[\\u4e00-\\u9fff]{1,3}[.!?]");
        try (InferenceEngine engine = engine()) {
            for (String regex : regexes) {
                Pattern p = Pattern.compile(regex);
                int stopped = 0;
                for (GenerationResult r : generate(engine, Constraint.regex(regex), 100, 24)) {
                    byte[] out = bytes(r.outputTokens());
                    String text = new String(wholeCharacters(out), StandardCharsets.UTF_8);
                    Matcher m = p.matcher(text);
                    if (r.finishReason() == FinishReason.STOP) {
                        stopped++;
                        assertThat(m.matches()).as("%s matches /%s/", text, regex).isTrue();
                    } else {
                        assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
                        assertThat(m.matches() || m.hitEnd()).as("%s can still match /%s/", text, regex).isTrue();
                    }
                }
                assertThat(stopped).as("requests that finished under /%s/", regex).isPositive();
            }
        }
    }

    @Test
    void everyOutputOfAChoiceIsOneOfItsOptions() throws Exception {
        List<List<String>> choices = List.of(List.of("red", "green", "blue"), List.of("北京", "上海", "深圳"),
                List.of("a", "ab", "abc"));
        try (InferenceEngine engine = engine()) {
            for (List<String> options : choices) {
                for (GenerationResult r : generate(engine, Constraint.choice(options), 100, 16)) {
                    assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
                    assertThat(new String(bytes(r.outputTokens()), StandardCharsets.UTF_8)).isIn(options);
                }
            }
        }
    }

    @Test
    void constrainedRequestsDrawTheSameTokensAloneAndInABatchOfSixteen() throws Exception {
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            Constraint c = Constraint.jsonSchema(SCHEMAS_UNDER_TEST.get(i % SCHEMAS_UNDER_TEST.size()));
            requests.add(GenerationRequest.builder("b" + i, prompt(50 + i, 3 + 5 * i, VOCAB - 14))
                    .sampling(sampling(77 + i, 32)).constraint(c).build());
        }
        try (InferenceEngine engine = engine()) {
            List<int[]> alone = new ArrayList<>();
            for (GenerationRequest r : requests) {
                alone.add(engine.submit(r).result().get(60, TimeUnit.SECONDS).outputTokens());
            }
            List<RequestHandle> batch = new ArrayList<>();
            for (GenerationRequest r : requests) {
                batch.add(engine.submit(r));
            }
            for (int i = 0; i < 16; i++) {
                assertThat(batch.get(i).result().get(60, TimeUnit.SECONDS).outputTokens())
                        .as("request %d", i).containsExactly(alone.get(i));
            }
        }
    }

    /** Three functions whose parameters are schemas of the kinds above, and one that declares none (any object). */
    private static final String TOOLS = "[" + function("classify", SCHEMAS_UNDER_TEST.get(0)) + ","
            + function("profile", SCHEMAS_UNDER_TEST.get(1)) + "," + function("tag", SCHEMAS_UNDER_TEST.get(9))
            + ",{\"type\":\"function\",\"function\":{\"name\":\"ping\"}}]";

    private static String function(String name, String parameters) {
        return "{\"type\":\"function\",\"function\":{\"name\":\"" + name + "\",\"parameters\":" + parameters + "}}";
    }

    @Test
    void withToolChoiceRequiredEveryStoppedOutputIsAValidCallAndEveryCutOneAValidPrefix() throws Exception {
        ToolCallValidator validator = ToolCallValidator.fromJson(TOOLS);
        ToolChoice required = ToolChoice.required();
        int observation = tokenizer.specialId("<|observation|>");
        Constraint c = validator.callConstraint(required, null, Set.of(observation)).orElseThrow();
        Map<String, Integer> callsPerTool = new TreeMap<>();
        try (InferenceEngine engine = engine()) {
            for (GenerationResult r : generate(engine, c, 200, 48)) {
                byte[] out = bytes(r.outputTokens());
                String text = new String(out, StandardCharsets.UTF_8);
                if (r.finishReason() == FinishReason.STOP) {
                    assertThat(r.stopTokenId()).as(text).isEqualTo(observation);
                    AssistantReply reply = required.parseReply(text, true);
                    assertThat(reply).isInstanceOf(AssistantReply.FunctionCall.class);
                    ValidatedToolCall call = validator.validate((AssistantReply.FunctionCall) reply, required);
                    assertThat(call).as(text).isInstanceOf(ValidatedToolCall.Function.class);
                    callsPerTool.merge(((ValidatedToolCall.Function) call).name(), 1, Integer::sum);
                } else {
                    assertThat(r.finishReason()).as(text).isEqualTo(FinishReason.LENGTH);
                    assertThat(c.advance(c.startState(), out)).as("prefix %s", text).isNotNegative();
                }
            }
        }
        assertThat(callsPerTool).as("the model picks the tool: several are called").hasSizeGreaterThanOrEqualTo(2);
    }

    @Test
    void withToolChoiceAutoAnOutputIsACallOnlyIfItEndsOnObservationAndEveryCallValidates() throws Exception {
        ToolCallValidator validator = ToolCallValidator.fromJson(TOOLS);
        ToolChoice auto = ToolChoice.auto();
        int observation = tokenizer.specialId("<|observation|>");
        Constraint c = validator.callConstraint(auto, null, Set.of(observation)).orElseThrow();
        int answers = 0;
        try (InferenceEngine engine = engine()) {
            for (GenerationResult r : generate(engine, c, 200, 24)) {
                String text = new String(bytes(r.outputTokens()), StandardCharsets.UTF_8);
                boolean startsACall = validator.functionNames().stream().anyMatch(n -> text.startsWith(n + "\n"));
                if (r.finishReason() != FinishReason.STOP) {
                    continue;
                }
                AssistantReply reply = auto.parseReply(text, r.stopTokenId() == observation);
                if (startsACall) {
                    assertThat(r.stopTokenId()).as(text).isEqualTo(observation);
                    assertThat(validator.validate((AssistantReply.FunctionCall) reply, auto)).as(text)
                            .isInstanceOf(ValidatedToolCall.Function.class);
                } else {
                    answers++;
                    assertThat(r.stopTokenId()).as("an answer never ends like a call: %s", text).isNotEqualTo(observation);
                    assertThat(reply).isInstanceOf(AssistantReply.Text.class);
                }
            }
        }
        assertThat(answers).isPositive();
    }

    @Test
    void aConstrainedRequestDrawsTheSameTokensAloneInABatchOfSixteenAndOverImportedKv() throws Exception {
        int[] history = prompt(91, 40, VOCAB - 14);
        GenerationResult previous;
        try (InferenceEngine first = engine()) {
            previous = first.submit(GenerationRequest.builder("turn1", history).sampling(sampling(5, 12))
                    .exportKv(true).build()).result().get(60, TimeUnit.SECONDS);
        }
        int[] turn2 = concat(concat(history, previous.outputTokens()), prompt(92, 6, VOCAB - 14));
        GenerationRequest constrained = GenerationRequest.builder("turn2", turn2).sampling(sampling(6, 40))
                .constraint(Constraint.jsonSchema(SCHEMAS_UNDER_TEST.get(9))).build();
        int[] alone;
        try (InferenceEngine engine = engine()) {
            alone = engine.submit(constrained).result().get(60, TimeUnit.SECONDS).outputTokens();
            List<RequestHandle> others = new ArrayList<>();
            for (int i = 0; i < 15; i++) {
                others.add(engine.submit(GenerationRequest.builder("o" + i, prompt(200 + i, 5 + 3 * i, VOCAB - 14))
                        .sampling(sampling(300 + i, 40))
                        .constraint(Constraint.jsonSchema(SCHEMAS_UNDER_TEST.get(i % SCHEMAS_UNDER_TEST.size()))).build()));
            }
            int[] batched = engine.submit(constrained).result().get(60, TimeUnit.SECONDS).outputTokens();
            for (RequestHandle h : others) {
                h.result().get(60, TimeUnit.SECONDS);
            }
            assertThat(batched).as("in a batch of 16").containsExactly(alone);
        }
        try (InferenceEngine fresh = engine()) {
            GenerationResult imported = fresh.submit(GenerationRequest.builder("turn2", turn2).sampling(sampling(6, 40))
                    .constraint(Constraint.jsonSchema(SCHEMAS_UNDER_TEST.get(9))).importedKv(previous.kv()).build())
                    .result().get(60, TimeUnit.SECONDS);
            assertThat(imported.cachedPromptTokens()).as("the history came from the imported KV")
                    .isEqualTo(history.length + previous.outputTokens().length - 1);
            assertThat(imported.outputTokens()).as("over imported KV").containsExactly(alone);
        }
        assertThat(Constraint.jsonSchema(SCHEMAS_UNDER_TEST.get(9)).accepts(bytes(alone))
                || alone.length == 40).as("a whole output or one cut by the limit").isTrue();
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void aConstrainedRequestIsRefusedAtSubmitByAnEngineWithoutATokenizer() {
        try (InferenceEngine engine = InferenceEngine.builder(BACKEND).kvBlocks(64).build()) {
            GenerationRequest r = GenerationRequest.builder("r", new int[]{1, 2})
                    .constraint(Constraint.regex("a+")).build();
            assertThatThrownBy(() -> engine.submit(r)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("tokenizer");
        }
    }

    /** The bytes up to the last whole UTF-8 character: a cut output may end inside one. */
    private static byte[] wholeCharacters(byte[] b) {
        int end = b.length;
        int i = end - 1;
        while (i >= 0 && (b[i] & 0xC0) == 0x80) {
            i--;
        }
        if (i >= 0) {
            int lead = b[i] & 0xFF;
            int len = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
            if (i + len > end) {
                end = i;
            }
        }
        return Arrays.copyOf(b, end);
    }
}
