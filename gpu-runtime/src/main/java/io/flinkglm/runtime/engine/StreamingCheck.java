package io.flinkglm.runtime.engine;

import org.apache.flink.annotation.PublicEvolving;

import java.util.Objects;
import java.util.function.Predicate;

/**
 * Moderation while a request generates: every {@code interval} output tokens, and once more when it ends, the
 * engine classifies {@code prefix + output so far + suffix} (a prefill-only request over {@code labelTokenIds},
 * as {@link GenerationRequest.Builder#classify}) and, the first time {@code flags} holds for the probabilities,
 * stops the request with {@link GenerationResult.FinishReason#CONTENT_FILTER}. A request that ends normally
 * waits for its final check, and its result carries that check's probabilities.
 *
 * <p>Each check extends the previous one's tokens by the new output, so the prefix cache serves everything
 * before them: a check computes the new output tokens plus the suffix. The cache shares whole KV blocks only,
 * so the engine pads the prefix with {@code padTokenId} to a whole number of blocks; with an interval that
 * is a multiple of the block size every check then starts on a block boundary and recomputes nothing it has
 * seen. The checks run beside the generation (it does not wait for them) and never change its tokens: the
 * forward pass is batch invariant and sampling depends on the seed and position only. A request's
 * {@link TokenListener} sees tokens before they are checked.
 *
 * <pre>{@code
 * StreamingCheck check = new StreamingCheck(32, prefix, suffix, labelIds, newlineId,
 *         p -> p[unsafe] >= 0.5);
 * engine.submit(GenerationRequest.builder("r1", prompt).streamingCheck(check).build());
 * }</pre>
 *
 * @param interval       output tokens between checks
 * @param prefixTokens   the check's tokens before the output (instructions, the prompt)             [p]
 * @param suffixTokens   the check's tokens after the output, ending where the label is scored     [s]
 * @param labelTokenIds  the ids whose next-token probabilities the check returns, in the caller's order
 * @param padTokenId     the token the prefix is padded with to a block boundary
 * @param flags          whether a check's probabilities stop the request
 */
@PublicEvolving
public record StreamingCheck(int interval, int[] prefixTokens, int[] suffixTokens, int[] labelTokenIds,
                             int padTokenId, Predicate<float[]> flags) {

    public StreamingCheck {
        Objects.requireNonNull(prefixTokens, "prefixTokens");
        Objects.requireNonNull(suffixTokens, "suffixTokens");
        Objects.requireNonNull(labelTokenIds, "labelTokenIds");
        Objects.requireNonNull(flags, "flags");
        if (interval <= 0) {
            throw new IllegalArgumentException("a streaming check's interval must be positive but is " + interval);
        }
        if (labelTokenIds.length == 0) {
            throw new IllegalArgumentException("a streaming check needs at least one label token id");
        }
        if (prefixTokens.length == 0 || suffixTokens.length == 0) {
            throw new IllegalArgumentException("a streaming check needs a prefix and a suffix (the label is scored"
                    + " after the suffix's last token)");
        }
        prefixTokens = prefixTokens.clone();
        suffixTokens = suffixTokens.clone();
        labelTokenIds = labelTokenIds.clone();
    }

    /** The prefix padded with {@code padTokenId} to a multiple of {@code blockSize} tokens. */
    int[] alignedPrefix(int blockSize) {
        int padded = (prefixTokens.length + blockSize - 1) / blockSize * blockSize;
        int[] aligned = java.util.Arrays.copyOf(prefixTokens, padded);
        java.util.Arrays.fill(aligned, prefixTokens.length, padded, padTokenId);
        return aligned;
    }
}
