package io.flinkglm.runtime.engine;

import org.apache.flink.annotation.PublicEvolving;

import java.util.List;

/**
 * How one request picks its tokens. Temperature 0 is greedy; otherwise logits pass through the
 * repetition penalty, temperature, top-k and top-p, in that order (Hugging Face's order), and a
 * token is drawn with a generator that depends only on {@code seed} and the token's position, so a
 * request draws the same tokens however it was batched, preempted or resumed.
 *
 * <pre>{@code
 * SamplingParams p = SamplingParams.builder().temperature(0.7).topP(0.9).seed(42).maxTokens(64)
 *         .stopTokenIds(model.config().eosTokenIds()).build();
 * }</pre>
 *
 * @param temperature       0 for greedy, else the softmax temperature
 * @param topK              keep the k most likely tokens; 0 keeps all
 * @param topP              keep the smallest set whose probability reaches p; 1 keeps all
 * @param repetitionPenalty HF semantics: logits of tokens already in prompt or output are divided
 *                          (when positive) or multiplied (when negative) by it; 1 disables
 * @param seed              the request's random stream
 * @param maxTokens         most tokens to generate; the engine also stops at the model's context
 * @param stopTokenIds      tokens that end generation (not part of the output); usually the model's eos ids
 * @param stopStrings       texts that end generation once the detokenized output contains one
 *                          (needs the engine's detokenizer)
 */
@PublicEvolving
public record SamplingParams(double temperature, int topK, double topP, double repetitionPenalty, long seed,
                             int maxTokens, List<Integer> stopTokenIds, List<String> stopStrings) {

    /** Greedy, 16 tokens, no stops. */
    public static final SamplingParams GREEDY = builder().build();

    /**
     * Checks every field; a bad value throws {@link IllegalArgumentException} naming the field as a
     * prompt record spells it ({@code sampling.top_p}), so the message can go back to whoever sent it.
     */
    public SamplingParams {
        stopTokenIds = List.copyOf(stopTokenIds);
        stopStrings = List.copyOf(stopStrings);
        checkTemperature(temperature);
        checkTopK(topK);
        checkTopP(topP);
        checkRepetitionPenalty(repetitionPenalty);
        checkMaxTokens(maxTokens);
        for (String s : stopStrings) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("sampling.stop strings must not be empty");
            }
        }
    }

    private static double checkTemperature(double t) {
        if (!(t >= 0) || Double.isInfinite(t)) {
            throw new IllegalArgumentException("sampling.temperature must be finite and at least 0 (0 = greedy), got " + t);
        }
        return t;
    }

    private static int checkTopK(int k) {
        if (k < 0) {
            throw new IllegalArgumentException("sampling.top_k must be at least 0 (0 = all tokens), got " + k);
        }
        return k;
    }

    private static double checkTopP(double p) {
        if (!(p > 0 && p <= 1)) {
            throw new IllegalArgumentException("sampling.top_p must be above 0 and at most 1 (1 = all tokens), got " + p);
        }
        return p;
    }

    private static double checkRepetitionPenalty(double r) {
        if (!(r > 0) || Double.isInfinite(r)) {
            throw new IllegalArgumentException("sampling.repetition_penalty must be finite and above 0 (1 = none), got " + r);
        }
        return r;
    }

    private static int checkMaxTokens(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("sampling.max_tokens must be at least 1, got " + n);
        }
        return n;
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Fluent builder; each setter checks its value at once (an {@link IllegalArgumentException}
     * naming the wire field), {@link #build()} the whole.
     */
    public static final class Builder {
        private double temperature = 0;
        private int topK = 0;
        private double topP = 1;
        private double repetitionPenalty = 1;
        private long seed = 0;
        private int maxTokens = 16;
        private List<Integer> stopTokenIds = List.of();
        private List<String> stopStrings = List.of();

        private Builder() {}

        public Builder temperature(double temperature) {
            this.temperature = checkTemperature(temperature);
            return this;
        }

        public Builder topK(int topK) {
            this.topK = checkTopK(topK);
            return this;
        }

        public Builder topP(double topP) {
            this.topP = checkTopP(topP);
            return this;
        }

        public Builder repetitionPenalty(double repetitionPenalty) {
            this.repetitionPenalty = checkRepetitionPenalty(repetitionPenalty);
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder maxTokens(int maxTokens) {
            this.maxTokens = checkMaxTokens(maxTokens);
            return this;
        }

        public Builder stopTokenIds(List<Integer> stopTokenIds) {
            this.stopTokenIds = List.copyOf(stopTokenIds);
            return this;
        }

        public Builder stopStrings(List<String> stopStrings) {
            this.stopStrings = List.copyOf(stopStrings);
            return this;
        }

        public SamplingParams build() {
            return new SamplingParams(temperature, topK, topP, repetitionPenalty, seed, maxTokens,
                    stopTokenIds, stopStrings);
        }
    }
}
