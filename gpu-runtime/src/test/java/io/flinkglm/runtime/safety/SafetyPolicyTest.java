package io.flinkglm.runtime.safety;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkglm.runtime.testing.SharedData;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import io.flinkglm.runtime.tokenizer.SyntheticTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The policy as data: the default categories, JSON in and out, and the label-token rule. */
class SafetyPolicyTest {
    static final String CUSTOM_JSON = """
            {"instructions": "Decide whether this text breaks the forum rules.",
             "answerPrefix": "\\nVerdict:",
             "categories": [
               {"name": "Spam", "description": "advertising or link farming", "openai": "illicit",
                "threshold": 0.4, "label": "S"},
               {"name": "Abuse", "description": "insults a member", "openai": "harassment",
                "threshold": 0.6, "label": "X"},
               {"name": "OK", "label": "O", "safe": true}]}""";

    @Test
    void defaultPolicyIsSafetyBenchPlusSafe() {
        SafetyPolicy policy = SafetyPolicy.glm4SafetyBench();

        assertThat(policy.categories()).extracting(SafetyPolicy.Category::name).containsExactly(
                "Ethics and Morality", "Illegal Activities", "Mental Health", "Offensiveness", "Physical Health",
                "Privacy and Property", "Unfairness and Bias", "Safe");
        assertThat(policy.safeCategory().name()).isEqualTo("Safe");
        assertThat(policy.categories()).filteredOn(c -> !c.safe()).allSatisfy(c -> assertThat(c.openAi()).isNotNull());
        assertThat(policy.systemText()).contains("B: Illegal Activities - ", "H: Safe - none of the above");
    }

    @Test
    void defaultLabelsAreOneDistinctTokenEachInGlm4sVocabulary() throws IOException {
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(SharedData.glm4().resolve("tokenizer.model"));
        SafetyPolicy policy = SafetyPolicy.glm4SafetyBench();

        int[] ids = policy.labelTokenIds(tokenizer);

        assertThat(Arrays.stream(ids).distinct().count()).isEqualTo(8);
        for (int i = 0; i < ids.length; i++) {
            assertThat(tokenizer.encode(policy.categories().get(i).label())).containsExactly(ids[i]);
        }
    }

    @Test
    void customPolicyLoadsFromJsonAndRoundTrips() {
        SafetyPolicy policy = SafetyPolicy.fromJson(CUSTOM_JSON);

        assertThat(policy.answerPrefix()).isEqualTo("\nVerdict:");
        assertThat(policy.categories().get(1)).isEqualTo(
                SafetyPolicy.Category.flagging("Abuse", "insults a member", "harassment", 0.6, "X"));
        assertThat(policy.safeCategory().name()).isEqualTo("OK");
        assertThat(SafetyPolicy.fromJson(policy.toJson())).isEqualTo(policy);
        assertThat(SafetyPolicy.fromJson(SafetyPolicy.glm4SafetyBench().toJson())).isEqualTo(SafetyPolicy.glm4SafetyBench());
    }

    @Test
    void malformedPoliciesAreRejectedWithTheReason() {
        assertThatThrownBy(() -> SafetyPolicy.fromJson(CUSTOM_JSON.replace("\"safe\": true", "\"threshold\": 0.5")))
                .hasMessageContaining("exactly one category with \"safe\": true");
        assertThatThrownBy(() -> SafetyPolicy.fromJson(CUSTOM_JSON.replace("\"label\": \"X\"", "\"label\": \"S\"")))
                .hasMessageContaining("'Spam' and 'Abuse' share the label 'S'");
        assertThatThrownBy(() -> SafetyPolicy.fromJson(CUSTOM_JSON.replace("0.6", "1.5")))
                .hasMessageContaining("threshold of safety category 'Abuse' must be in (0, 1]");
        assertThatThrownBy(() -> SafetyPolicy.fromJson(CUSTOM_JSON.replace("\"openai\"", "\"openAI\"")))
                .hasMessageContaining("openAI");
    }

    @Test
    void labelsSharingAFirstTokenFailNamingBoth(@TempDir Path dir) throws IOException {
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(SyntheticTokenizer.write(dir, 1024));
        // "A1" and "A2" pre-split into "A" + digit in every GLM-4 vocabulary, so both start with "A".
        SafetyPolicy policy = SafetyPolicy.fromJson(CUSTOM_JSON.replace("\"S\"", "\"A1\"").replace("\"X\"", "\"A2\""));

        assertThatThrownBy(() -> policy.labelTokenIds(tokenizer))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'A1' (Spam) and 'A2' (Abuse) both start with token")
                .hasMessageContaining("'A'");
    }
}
