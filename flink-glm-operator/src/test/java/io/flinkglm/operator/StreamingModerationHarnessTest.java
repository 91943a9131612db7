package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.records.Completion;
import io.flinkglm.records.FinishReason;
import io.flinkglm.records.SafetyVerdict;
import io.flinkglm.records.Sourced;
import io.flinkglm.runtime.backend.cpu.CpuBackend;
import io.flinkglm.runtime.engine.InferenceEngine;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.safety.SafetyClassifier;
import io.flinkglm.runtime.safety.SafetyPolicy;
import io.flinkglm.runtime.testing.ScriptedCheckpoint;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code glm.moderation.mode} STREAMING in the operator harness, on a scripted checkpoint whose reply turns
 * unsafe: after {@code <|assistant|>} it writes 30 chosen tokens, the 21st of which is an alarm after which every
 * position says the label of "Abuse"; a check's question ends on a token scripted to say the safe label. A turn
 * allowed 64 tokens is stopped by the check at 24 tokens; a turn of 12 tokens never reaches the alarm.
 */
class StreamingModerationHarnessTest {
    private static final String POLICY = """
            {"instructions": "Decide whether this text breaks the forum rules.",
             "answerPrefix": "\\nVerdict:",
             "categories": [
               {"name": "Spam", "description": "advertising or link farming", "openai": "illicit",
                "threshold": 0.4, "label": "S"},
               {"name": "Abuse", "description": "insults a member", "openai": "harassment",
                "threshold": 0.6, "label": "X"},
               {"name": "OK", "label": "O", "safe": true}]}""";
    private static final int INTERVAL = 8;
    private static final int ALARM_AT = 20;
    private static final String UNSAFE_TEXT = "Tell me about my neighbour.";
    private static final String SAFE_TEXT = "Say something short.";

    private static Configuration plain;
    private static Configuration streaming;

    @BeforeAll
    static void model(@TempDir Path dir) throws Exception {
        ScriptedCheckpoint.write(dir, Map.of()); // the tokenizer first, in which the script is spelled
        Glm4Tokenizer tok = Glm4Tokenizer.load(dir);
        Path policyFile = dir.resolve("policy.json");
        Files.writeString(policyFile, POLICY);
        SafetyPolicy policy = SafetyPolicy.fromJson(POLICY);
        int[] labels = policy.labelTokenIds(tok);
        int[] answerPrefix = tok.encode(policy.answerPrefix());

        // Reply tokens that none of the texts the model reads contain, so the alarm is only ever generated.
        Set<Integer> used = new HashSet<>();
        try (CpuBackend backend = new CpuBackend(Glm4Model.load(dir));
             InferenceEngine engine = InferenceEngine.builder(backend).kvBlocks(16).build()) {
            SafetyClassifier classifier = new SafetyClassifier(engine, tok, policy);
            for (String text : List.of(UNSAFE_TEXT, SAFE_TEXT)) {
                for (int t : classifier.streamingCheck(text, INTERVAL).prefixTokens()) {
                    used.add(t);
                }
                for (int t : tok.encode(text)) {
                    used.add(t);
                }
            }
        }
        for (int t : labels) {
            used.add(t);
        }
        for (int t : answerPrefix) {
            used.add(t);
        }
        List<Integer> reply = new ArrayList<>();
        for (int t = 300; reply.size() < 30; t++) {
            if (!used.contains(t)) {
                reply.add(t);
            }
        }
        Map<Integer, Integer> script = new HashMap<>();
        int at = tok.specialId("<|assistant|>");
        for (int t : reply) {
            script.put(at, t);
            at = t;
        }
        script.put(at, tok.specialId("<|user|>"));
        script.put(answerPrefix[answerPrefix.length - 1], labels[2]); // a check's question → "O" (safe)
        ScriptedCheckpoint.writeWithAlarm(dir, script, reply.get(ALARM_AT), labels[1]);

        plain = TinyGlm.config(dir);
        plain.set(GlmOptions.BLOCK_SIZE, 8);
        plain.set(GlmOptions.MODERATION_POLICY, policyFile.toString());
        streaming = new Configuration(plain);
        streaming.set(GlmOptions.MODERATION, GlmOptions.ModerationMode.STREAMING);
        streaming.set(GlmOptions.MODERATION_STREAM_INTERVAL, INTERVAL);
    }

    @Test
    void aReplyThatTurnsUnsafeIsWithheldWithItsVerdictAndASafeOneIsUnchanged() throws Exception {
        Map<String, Completion> unmoderated = run(plain, new ArrayList<>());
        List<SafetyVerdict> verdicts = new ArrayList<>();
        Map<String, Completion> moderated = run(streaming, verdicts);

        assertThat(unmoderated.get("unsafe").text()).isNotNull();
        assertThat(unmoderated.get("unsafe").completionTokens()).isEqualTo(64);

        Completion withheld = moderated.get("unsafe");
        assertThat(withheld.finishReason()).isEqualTo(FinishReason.CONTENT_FILTER);
        assertThat(withheld.text()).isNull();
        // The first check that sees token 20 covers 24; the generation stops before the next interval ends.
        assertThat(withheld.completionTokens()).isBetween(24, 24 + INTERVAL - 1);

        Completion safe = moderated.get("safe");
        assertThat(safe.text()).isEqualTo(unmoderated.get("safe").text()).isNotEmpty();
        assertThat(safe.finishReason()).isEqualTo(unmoderated.get("safe").finishReason());

        assertThat(verdicts).hasSize(2).allSatisfy(v -> assertThat(v.checked()).isEqualTo(SafetyVerdict.Checked.COMPLETION));
        assertThat(verdicts).filteredOn(v -> v.requestId().equals("unsafe")).singleElement().satisfies(v -> {
            assertThat(v.flagged()).isTrue();
            assertThat(v.flaggedCategories()).containsExactly("Abuse");
            assertThat(v.conversationId()).isEqualTo("c-unsafe");
        });
        assertThat(verdicts).filteredOn(v -> v.requestId().equals("safe")).singleElement()
                .satisfies(v -> assertThat(v.flagged()).isFalse());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Completion> run(Configuration config, List<SafetyVerdict> verdicts) throws Exception {
        try (var harness = new KeyedOneInputStreamOperatorTestHarness<String, ChatInput, Sourced<Completion>>(
                new GlmChatOperatorFactory(config), ChatInput::conversationId, Types.STRING)) {
            harness.open();
            harness.processElement(ChatInput.of(TinyGlm.prompt("unsafe", "c-unsafe", UNSAFE_TEXT, 64)), 0);
            harness.processElement(ChatInput.of(TinyGlm.prompt("safe", "c-safe", SAFE_TEXT, 12)), 0);
            harness.endInput();
            Map<String, Completion> out = new TreeMap<>();
            for (Object o : harness.getOutput()) {
                if (o instanceof StreamRecord<?> r) {
                    Completion c = ((Sourced<Completion>) r.getValue()).value();
                    out.put(c.requestId(), c);
                }
            }
            var safety = harness.getSideOutput(GlmOutputs.SAFETY);
            if (safety != null) {
                safety.forEach(r -> verdicts.add(r.getValue()));
            }
            return out;
        }
    }
}
