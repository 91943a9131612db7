package io.flinkglm.runtime.safety;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.flinkglm.runtime.safety.SafetyVerdict.Checked;
import org.junit.jupiter.api.Test;

/** From label probabilities to flags: thresholds per category, safe never flagged, OpenAI scores summed. */
class SafetyVerdictTest {
    private static final SafetyPolicy DEFAULT = SafetyPolicy.glm4SafetyBench();

    private static SafetyVerdict verdict(SafetyPolicy policy, float... p) {
        return SafetyVerdict.of(policy, "r", Checked.PROMPT, p, 100, 80, 20);
    }

    @Test
    void categoryAtItsThresholdIsFlagged() {
        SafetyVerdict v = verdict(DEFAULT, 0f, 0.5f, 0f, 0f, 0f, 0f, 0f, 0.5f);

        assertThat(v.flagged()).isTrue();
        assertThat(v.flaggedCategories()).containsExactly("Illegal Activities");
        assertThat(v.openAiCategories()).containsEntry("illicit", true).containsEntry("hate", false);
    }

    @Test
    void probabilityBelowEveryThresholdFlagsNothing() {
        SafetyVerdict v = verdict(DEFAULT, 0.1f, 0.49f, 0.1f, 0.1f, 0.1f, 0f, 0.1f, 0.01f);

        assertThat(v.flagged()).isFalse();
        assertThat(v.topCategory()).isEqualTo("Illegal Activities");
    }

    @Test
    void safeIsNeverFlagged() {
        SafetyVerdict v = verdict(DEFAULT, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 1f);

        assertThat(v.flagged()).isFalse();
        assertThat(v.topCategory()).isEqualTo("Safe");
        assertThat(v.probabilities()).containsKeys("Safe");
    }

    @Test
    void openAiScoresSumTheCategoriesMappedToThem() {
        SafetyVerdict v = verdict(DEFAULT, 0.1f, 0.2f, 0.15f, 0.05f, 0.25f, 0.05f, 0.1f, 0.1f);

        assertThat(v.openAiCategoryScores().get("illicit")).isCloseTo(0.1 + 0.2 + 0.05, within(1e-6));
        assertThat(v.openAiCategoryScores().get("self-harm")).isCloseTo(0.15 + 0.25, within(1e-6));
        assertThat(v.openAiCategoryScores()).containsOnlyKeys("illicit", "self-harm", "harassment", "hate");
    }

    @Test
    void customThresholdsApplyPerCategory() {
        SafetyPolicy forum = SafetyPolicy.fromJson(SafetyPolicyTest.CUSTOM_JSON); // Spam 0.4, Abuse 0.6

        assertThat(verdict(forum, 0.4f, 0.55f, 0.05f).flaggedCategories()).containsExactly("Spam");
        assertThat(verdict(forum, 0.3f, 0.6f, 0.1f).flaggedCategories()).containsExactly("Abuse");
        assertThat(verdict(forum, 0.3f, 0.6f, 0.1f).probabilities().keySet()).containsExactly("Spam", "Abuse", "OK");
    }
}
