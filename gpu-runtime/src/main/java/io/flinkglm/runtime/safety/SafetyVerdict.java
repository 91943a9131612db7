package io.flinkglm.runtime.safety;

import org.apache.flink.annotation.PublicEvolving;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The classifier's answer for one text: the probability of each policy category (a softmax over the
 * categories' label tokens, so they sum to 1), which categories crossed their thresholds, and the same
 * scores folded into OpenAI moderation categories. The token counts say what the request cost: with a
 * warm prefix cache only the text and the answer prefix are computed, not the policy.
 *
 * <pre>{@code
 * SafetyVerdict v = classifier.classify("msg-42", text, SafetyVerdict.Checked.PROMPT).join();
 * if (v.flagged()) reject(v.flaggedCategories());   // e.g. [Illegal Activities]
 * v.openAiCategoryScores().get("illicit");
 * }</pre>
 *
 * @param probabilities        category name to probability, in policy order
 * @param flaggedCategories    categories at or above their threshold, in policy order; never the safe one
 * @param openAiCategoryScores OpenAI category to the summed probability of the categories mapped to it
 * @param openAiCategories     OpenAI category to whether any category mapped to it is flagged
 * @param cachedPromptTokens   prompt tokens served from the prefix cache
 * @param computedPromptTokens prompt tokens this request ran through the model
 */
@PublicEvolving
public record SafetyVerdict(String requestId, Checked checked, Map<String, Double> probabilities,
                            List<String> flaggedCategories, Map<String, Double> openAiCategoryScores,
                            Map<String, Boolean> openAiCategories, int promptTokens, int cachedPromptTokens,
                            int computedPromptTokens) {

    /** Which side of the conversation was checked. */
    public enum Checked { PROMPT, COMPLETION }

    public SafetyVerdict {
        probabilities = Collections.unmodifiableMap(new LinkedHashMap<>(probabilities));
        flaggedCategories = List.copyOf(flaggedCategories);
        openAiCategoryScores = Collections.unmodifiableMap(new LinkedHashMap<>(openAiCategoryScores));
        openAiCategories = Collections.unmodifiableMap(new LinkedHashMap<>(openAiCategories));
    }

    /** Whether any category was flagged. */
    public boolean flagged() {
        return !flaggedCategories.isEmpty();
    }

    /** The most probable category, safe included. */
    public String topCategory() {
        return probabilities.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
    }

    /**
     * Applies a policy to the label probabilities the engine returned.
     *
     * @param probabilities one per policy category, in policy order
     */
    public static SafetyVerdict of(SafetyPolicy policy, String requestId, Checked checked, float[] probabilities,
                                   int promptTokens, int cachedPromptTokens, int computedPromptTokens) {
        List<SafetyPolicy.Category> categories = policy.categories();
        if (probabilities.length != categories.size()) {
            throw new IllegalArgumentException("request " + requestId + " returned " + probabilities.length
                    + " probabilities for a policy of " + categories.size() + " categories");
        }
        Map<String, Double> byCategory = new LinkedHashMap<>();
        List<String> flagged = new ArrayList<>();
        Map<String, Double> openAiScores = new LinkedHashMap<>();
        Map<String, Boolean> openAiFlags = new LinkedHashMap<>();
        for (int i = 0; i < probabilities.length; i++) {
            SafetyPolicy.Category c = categories.get(i);
            double p = probabilities[i];
            byCategory.put(c.name(), p);
            boolean flag = !c.safe() && p >= c.threshold();
            if (flag) {
                flagged.add(c.name());
            }
            if (c.openAi() != null) {
                openAiScores.merge(c.openAi(), p, Double::sum);
                openAiFlags.merge(c.openAi(), flag, Boolean::logicalOr);
            }
        }
        return new SafetyVerdict(requestId, checked, byCategory, flagged, openAiScores, openAiFlags,
                promptTokens, cachedPromptTokens, computedPromptTokens);
    }
}
