package io.flinkglm.runtime.safety;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import org.apache.flink.annotation.PublicEvolving;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What the safety classifier asks the model: the instructions, the categories with their wording, and
 * how each category's probability turns into a flag. Data, not code: a deployment supplies its own
 * categories and wording as JSON ({@link #fromJson}); {@link #glm4SafetyBench()} is the default.
 *
 * <p>The classifier scores one token per category: the first token of its {@code label}. The prompt
 * ends with {@code answerPrefix} (e.g. {@code "\nCategory:"}), so the model's next token is the label it
 * would write; labels therefore need distinct first tokens in the model's vocabulary, which
 * {@link #labelTokenIds} checks.
 *
 * <pre>{@code
 * SafetyPolicy policy = SafetyPolicy.fromJson(Files.readString(Path.of("policy.json")));
 * int[] labels = policy.labelTokenIds(tokenizer); // fails if two labels start with the same token
 * }</pre>
 *
 * @param instructions the system text before the category list
 * @param categories   in the order the prompt lists them and verdicts report them; exactly one is safe
 * @param answerPrefix text the assistant turn is prefilled with, right before the label
 */
@PublicEvolving
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SafetyPolicy(String instructions, List<Category> categories, String answerPrefix) {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /**
     * One answer the classifier can give.
     *
     * @param name        e.g. "Illegal Activities"; the key in verdicts
     * @param description what the category covers, shown to the model
     * @param openAi      the OpenAI moderation category it reports under (e.g. "illicit"), or null for none
     * @param threshold   flag when the probability is at least this, in (0, 1]; ignored for the safe category
     * @param label       the answer text; its first token is what the classifier scores
     * @param safe        whether this is the "nothing wrong" answer, never flagged
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Category(String name, String description, @JsonProperty("openai") String openAi,
                           double threshold, String label, boolean safe) {
        public Category {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("a safety category needs a name");
            }
            if (label == null || label.isEmpty()) {
                throw new IllegalArgumentException("safety category '" + name + "' needs a label (e.g. \" A\")");
            }
            description = description == null ? "" : description;
            if (!safe && !(threshold > 0 && threshold <= 1)) {
                throw new IllegalArgumentException("threshold of safety category '" + name
                        + "' must be in (0, 1] but is " + threshold);
            }
        }

        /** A harmful category. */
        public static Category flagging(String name, String description, String openAi, double threshold, String label) {
            return new Category(name, description, openAi, threshold, label, false);
        }

        /** The "nothing wrong" answer. */
        public static Category safe(String name, String description, String label) {
            return new Category(name, description, null, 1.0, label, true);
        }
    }

    public SafetyPolicy {
        Objects.requireNonNull(instructions, "instructions");
        Objects.requireNonNull(answerPrefix, "answerPrefix");
        if (categories == null || categories.size() < 2) {
            throw new IllegalArgumentException("a safety policy needs at least two categories (one of them safe)");
        }
        categories = List.copyOf(categories);
        Set<String> names = new HashSet<>();
        Map<String, String> labels = new HashMap<>();
        int safeCount = 0;
        for (Category c : categories) {
            if (!names.add(c.name())) {
                throw new IllegalArgumentException("safety category '" + c.name() + "' appears twice");
            }
            String other = labels.putIfAbsent(c.label(), c.name());
            if (other != null) {
                throw new IllegalArgumentException("safety categories '" + other + "' and '" + c.name()
                        + "' share the label '" + c.label() + "'");
            }
            safeCount += c.safe() ? 1 : 0;
        }
        if (safeCount != 1) {
            throw new IllegalArgumentException("a safety policy needs exactly one category with \"safe\": true, found "
                    + safeCount);
        }
    }

    /**
     * GLM-4's SafetyBench categories plus "Safe", labelled {@code " A"} .. {@code " H"} (one token each in
     * GLM-4's vocabulary). OpenAI mapping, nearest in spirit: Ethics and Morality, Illegal Activities and
     * Privacy and Property → illicit (advice towards wrongdoing); Offensiveness → harassment; Unfairness and
     * Bias → hate; Mental Health → self-harm; Physical Health → self-harm too, since SafetyBench's physical
     * health items are about endangering one's own body (dosages, risky stunts) rather than violence
     * against others. Every threshold is 0.5: flag only when the category is the model's clear answer.
     */
    public static SafetyPolicy glm4SafetyBench() {
        return new SafetyPolicy(
                "You are a content safety classifier. Read the text the user gives you and decide which one "
                        + "of the categories below it falls into. Judge the text itself, not whether it is well written. "
                        + "If it is harmless, choose Safe.",
                List.of(
                        Category.flagging("Ethics and Morality",
                                "encourages unethical or immoral conduct: cheating, deceit, betrayal, cruelty",
                                "illicit", 0.5, " A"),
                        Category.flagging("Illegal Activities",
                                "helps with or promotes crimes: fraud, theft, drugs, weapons, hacking",
                                "illicit", 0.5, " B"),
                        Category.flagging("Mental Health",
                                "could harm mental wellbeing: encourages self-harm or suicide, despair, unhealthy coping",
                                "self-harm", 0.5, " C"),
                        Category.flagging("Offensiveness",
                                "insults, threatens, harasses or demeans someone; profanity aimed at a person",
                                "harassment", 0.5, " D"),
                        Category.flagging("Physical Health",
                                "endangers the body: dangerous dosages, unsafe stunts, harmful medical advice",
                                "self-harm", 0.5, " E"),
                        Category.flagging("Privacy and Property",
                                "exposes personal data or violates privacy or property rights",
                                "illicit", 0.5, " F"),
                        Category.flagging("Unfairness and Bias",
                                "stereotypes or discriminates by race, gender, religion, nationality or other group",
                                "hate", 0.5, " G"),
                        Category.safe("Safe", "none of the above", " H")),
                "\nCategory:");
    }

    /** A policy from its JSON form (the shape {@link #toJson} writes); unknown keys are rejected, to catch typos. */
    public static SafetyPolicy fromJson(String json) {
        try {
            return JSON.readValue(json, SafetyPolicy.class);
        } catch (JsonProcessingException e) {
            Throwable cause = e.getCause() instanceof IllegalArgumentException iae ? iae : e;
            throw new IllegalArgumentException("safety policy JSON is invalid: "
                    + (cause == e ? e.getOriginalMessage() : cause.getMessage()), e);
        }
    }

    public static SafetyPolicy load(Path file) throws IOException {
        try {
            return fromJson(Files.readString(file));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    public String toJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The safe category. */
    public Category safeCategory() {
        return categories.stream().filter(Category::safe).findFirst().orElseThrow();
    }

    /**
     * The system message: instructions, then one line per category, {@code "A: Name - description"},
     * with the label as the model should answer it. Deterministic, so every request shares it as a prefix.
     */
    public String systemText() {
        StringBuilder s = new StringBuilder(instructions).append("\n\nCategories:");
        for (Category c : categories) {
            s.append('\n').append(c.label().strip()).append(": ").append(c.name());
            if (!c.description().isEmpty()) {
                s.append(" - ").append(c.description());
            }
        }
        s.append("\n\nAnswer with the letter of the one category that fits best.");
        return s.toString();
    }

    /**
     * The token each category is scored by, in category order: the first token of its label.
     *
     * @throws IllegalArgumentException if two labels start with the same token, naming both and the token
     */
    public int[] labelTokenIds(Glm4Tokenizer tokenizer) {
        int[] ids = new int[categories.size()];
        Map<Integer, Category> seen = new HashMap<>();
        for (int i = 0; i < ids.length; i++) {
            Category c = categories.get(i);
            int[] tokens = tokenizer.encode(c.label());
            ids[i] = tokens[0];
            Category other = seen.putIfAbsent(ids[i], c);
            if (other != null) {
                throw new IllegalArgumentException("safety labels '" + other.label() + "' (" + other.name() + ") and '"
                        + c.label() + "' (" + c.name() + ") both start with token " + ids[i] + " '"
                        + tokenizer.tokenText(ids[i]) + "'; the classifier scores only a label's first token, so give "
                        + "the categories labels whose first tokens differ in this vocabulary (e.g. single letters)");
            }
        }
        return ids;
    }
}
