package io.flinkglm.records;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Map;
import org.apache.flink.annotation.PublicEvolving;

/**
 * A safety classification of a prompt or of a completion.
 *
 * <pre>{@code
 * new SafetyVerdict("req-1", "conv-7", SafetyVerdict.Checked.PROMPT,
 *         Map.of("violence", 0.91, "self_harm", 0.02), List.of("violence"), true, null)
 * }</pre>
 *
 * @param scores probability per category, each in [0, 1]
 * @param flaggedCategories the categories whose score passed their threshold
 * @param openaiCategoryScores the scores under OpenAI moderation category names, or null
 */
@PublicEvolving
public record SafetyVerdict(
        String requestId,
        String conversationId,
        Checked checked,
        Map<String, Double> scores,
        List<String> flaggedCategories,
        boolean flagged,
        Map<String, Double> openaiCategoryScores)
        implements WireRecord {

    /** Which text was classified. */
    public enum Checked {
        @JsonProperty("prompt") PROMPT,
        @JsonProperty("completion") COMPLETION
    }

    @Override
    public String kafkaKey() {
        return conversationId;
    }
}
