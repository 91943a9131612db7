package io.flinkglm.runtime.engine;

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
 * @param maxTokens         most tokens to generate
 * @param stopTokenIds      tokens that end generation (not part of the output); usually the model's eos ids
 * @param stopStrings       texts that end generation once the detokenized output contains one
 *                          (needs the engine's detokenizer)
 */
public record SamplingParams(double temperature, int topK, double topP, double repetitionPenalty, long seed,
                             int maxTokens, List<Integer> stopTokenIds, List<String> stopStrings) {

    /** Greedy, 16 tokens, no stops. */
    public static final SamplingParams GREEDY = builder().build();

    public SamplingParams {
        stopTokenIds = List.copyOf(stopTokenIds);
        stopStrings = List.copyOf(stopStrings);
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be finite and >= 0 (0 = greedy) but is " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0 (0 = all tokens) but is " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1] but is " + topP);
        }
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty)) {
            throw new IllegalArgumentException("repetitionPenalty must be finite and > 0 (1 = none) but is "
                    + repetitionPenalty);
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be at least 1 but is " + maxTokens);
        }
        for (String s : stopStrings) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("stop strings must not be empty");
            }
        }
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Fluent builder; each setter checks its value, {@link #build()} the whole. */
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
            this.temperature = temperature;
            return this;
        }

        public Builder topK(int topK) {
            this.topK = topK;
            return this;
        }

        public Builder topP(double topP) {
            this.topP = topP;
            return this;
        }

        public Builder repetitionPenalty(double repetitionPenalty) {
            this.repetitionPenalty = repetitionPenalty;
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder maxTokens(int maxTokens) {
            this.maxTokens = maxTokens;
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
