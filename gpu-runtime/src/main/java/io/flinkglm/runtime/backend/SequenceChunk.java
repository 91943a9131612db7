package io.flinkglm.runtime.backend;

import io.flinkglm.runtime.model.ModelConfig;
import org.apache.flink.annotation.PublicEvolving;

/**
 * One sequence's share of a forward step: feed {@code tokens} at positions
 * {@code startPosition .. startPosition + tokens.length - 1}, attending over everything already in
 * its KV blocks. A decode step is a chunk of one token; a prefill is one or more chunks.
 *
 * <pre>{@code
 * new SequenceChunk(new int[] {42}, 17, blockTable, false); // decode position 17
 * }</pre>
 *
 * @param tokens        the new tokens                                   [n]
 * @param startPosition position of tokens[0]; KV for 0..start-1 is already in the blocks
 * @param blockTable    KV block ids covering at least start + n positions, in order
 * @param allLogits     for {@link Backend#forwardLogits}: logits for every new position (true) or only
 *                      the last (false); {@link Backend#step} reads the last position alone
 */
@PublicEvolving
public record SequenceChunk(int[] tokens, int startPosition, int[] blockTable, boolean allLogits) {
    public SequenceChunk {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("a chunk needs at least one token");
        }
        if (startPosition < 0) {
            throw new IllegalArgumentException("negative start position " + startPosition);
        }
    }

    public int endPosition() {
        return startPosition + tokens.length;
    }

    /** Checks the chunk against the model and the KV block size before a backend runs it. */
    public void checkFits(ModelConfig config, int blockSize) {
        if (endPosition() > config.maxPositions()) {
            throw new IllegalArgumentException("sequence reaches position " + endPosition()
                    + " but the model's max_position_embeddings is " + config.maxPositions());
        }
        if ((long) blockTable.length * blockSize < endPosition()) {
            throw new IllegalArgumentException("block table of " + blockTable.length
                    + " blocks cannot hold " + endPosition() + " positions");
        }
        for (int id : tokens) {
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of "
                        + config.vocabSize());
            }
        }
    }
}
