package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.constraint.Constraint;
import org.apache.flink.annotation.PublicEvolving;

import java.util.Objects;
import java.util.Optional;

/**
 * One unit of work for the engine: a prompt and how to continue it. With {@code classifyTokenIds}
 * the request only prefills and returns the next-token distribution restricted to those ids.
 * {@code importedKv} (bytes a previous result exported) lets the prompt skip recomputing the tokens
 * the bytes cover; the prompt must start with those tokens.
 *
 * <pre>{@code
 * GenerationRequest r = GenerationRequest.builder("conv-7/turn-2", promptTokens)
 *         .sampling(SamplingParams.builder().temperature(0.8).seed(7).maxTokens(128).build())
 *         .priority(0).tenant("acme").deadlineMillis(System.currentTimeMillis() + 5_000)
 *         .importedKv(previous.kv()).exportKv(true)
 *         .build();
 * }</pre>
 *
 * @param priority        lower is served sooner, any int; a waiting request preempts running ones of a
 *                        strictly higher number when the batch is full. Within a priority the engine's
 *                        {@link Fairness} orders requests
 * @param deadlineMillis  epoch millis after which the request ends with DEADLINE; 0 for none
 * @param conversationKey free-form key the caller may use to group turns (the engine does not need it:
 *                        prefix caching finds shared history by content)
 * @param tenant          who the request is served for, for {@link Fairness#FAIR}; null: the one default tenant
 * @param constraint      what the output must be (JSON schema, regex, choice); null for free text. The
 *                        engine masks tokens that cannot continue a valid output and allows the stop
 *                        tokens only once the output is whole; it needs the engine's tokenizer
 * @param streamingCheck  moderation while generating: the output is classified every few tokens and at the
 *                        end, and a flagged check stops the request with CONTENT_FILTER; null for none
 */
@PublicEvolving
public record GenerationRequest(String requestId, int[] promptTokens, SamplingParams sampling, int priority,
                                long deadlineMillis, String conversationKey, int[] classifyTokenIds,
                                boolean exportKv, byte[] importedKv, TokenListener listener,
                                int exportKvFromBlock, KvSnapshot importedKvBlocks, String tenant,
                                Constraint constraint, StreamingCheck streamingCheck) {

    public GenerationRequest {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(promptTokens, "promptTokens");
        Objects.requireNonNull(sampling, "sampling");
        if (promptTokens.length == 0) {
            throw new IllegalArgumentException("request " + requestId + " has an empty prompt");
        }
        if (deadlineMillis < 0) {
            throw new IllegalArgumentException("deadlineMillis must be epoch millis or 0 but is " + deadlineMillis);
        }
        if (importedKv != null && importedKvBlocks != null) {
            throw new IllegalArgumentException("request " + requestId + " imports KV both as bytes and as blocks; pick one");
        }
        if (exportKvFromBlock < -1) {
            throw new IllegalArgumentException("exportKvFromBlock must be a block index or -1 but is " + exportKvFromBlock);
        }
        if (classifyTokenIds != null && constraint != null) {
            throw new IllegalArgumentException("request " + requestId + " both classifies and constrains its output;"
                    + " a classification generates no output to constrain");
        }
        if (classifyTokenIds != null && streamingCheck != null) {
            throw new IllegalArgumentException("request " + requestId + " both classifies and checks its output while"
                    + " generating; a classification generates no output to check");
        }
        if (classifyTokenIds != null && classifyTokenIds.length == 0) {
            throw new IllegalArgumentException("request " + requestId + " asks to classify over no token ids");
        }
    }

    public boolean isClassification() {
        return classifyTokenIds != null;
    }

    public Optional<String> conversation() {
        return Optional.ofNullable(conversationKey);
    }

    public static Builder builder(String requestId, int[] promptTokens) {
        return new Builder(requestId, promptTokens);
    }

    /** Fluent builder; {@link #build()} checks the request as a whole. */
    public static final class Builder {
        private final String requestId;
        private final int[] promptTokens;
        private SamplingParams sampling = SamplingParams.GREEDY;
        private int priority;
        private long deadlineMillis;
        private String conversationKey;
        private int[] classifyTokenIds;
        private boolean exportKv;
        private byte[] importedKv;
        private KvSnapshot importedKvBlocks;
        private int exportKvFromBlock = -1;
        private TokenListener listener;
        private String tenant;
        private Constraint constraint;
        private StreamingCheck streamingCheck;

        private Builder(String requestId, int[] promptTokens) {
            this.requestId = Objects.requireNonNull(requestId, "requestId");
            this.promptTokens = Objects.requireNonNull(promptTokens, "promptTokens").clone();
        }

        public Builder sampling(SamplingParams sampling) {
            this.sampling = Objects.requireNonNull(sampling, "sampling");
            return this;
        }

        public Builder priority(int priority) {
            this.priority = priority;
            return this;
        }

        /** Who the request is served for; null (the default) shares one default tenant. */
        public Builder tenant(String tenant) {
            this.tenant = tenant;
            return this;
        }

        public Builder deadlineMillis(long deadlineMillis) {
            this.deadlineMillis = deadlineMillis;
            return this;
        }

        public Builder conversationKey(String conversationKey) {
            this.conversationKey = conversationKey;
            return this;
        }

        /** Classification mode: prefill only, return probabilities over these ids. */
        public Builder classify(int... tokenIds) {
            this.classifyTokenIds = tokenIds.clone();
            return this;
        }

        public Builder exportKv(boolean exportKv) {
            this.exportKv = exportKv;
            return this;
        }

        public Builder importedKv(byte[] kv) {
            this.importedKv = kv;
            return this;
        }

        /** The result carries {@link GenerationResult#kvSnapshot()}: this request's KV blocks {@code fromBlock ..}. */
        public Builder exportKvFrom(int fromBlock) {
            if (fromBlock < 0) {
                throw new IllegalArgumentException("fromBlock must not be negative but is " + fromBlock);
            }
            this.exportKvFromBlock = fromBlock;
            return this;
        }

        /** KV of the prompt's first tokens, as blocks a previous result exported (every block from 0). */
        public Builder importedKv(KvSnapshot blocks) {
            this.importedKvBlocks = blocks;
            return this;
        }

        /** The output must satisfy {@code constraint}; null (the default) leaves it free. */
        public Builder constraint(Constraint constraint) {
            this.constraint = constraint;
            return this;
        }

        /** Classify the output while it is generated; null (the default) for no checks. */
        public Builder streamingCheck(StreamingCheck check) {
            this.streamingCheck = check;
            return this;
        }

        public Builder listener(TokenListener listener) {
            this.listener = listener;
            return this;
        }

        public GenerationRequest build() {
            return new GenerationRequest(requestId, promptTokens, sampling, priority, deadlineMillis,
                    conversationKey, classifyTokenIds, exportKv, importedKv, listener, exportKvFromBlock, importedKvBlocks, tenant, constraint,
                    streamingCheck);
        }
    }
}
