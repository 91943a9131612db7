package io.flinkglm.runtime.backend.cpu;

import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.model.ModelConfig;

import java.util.List;

/**
 * A forward step flattened to token rows: which chunk, token id and position each row has, and
 * which rows need logits. Validates the chunks against the model before any work is done.
 */
final class StepLayout {
    final List<SequenceChunk> chunks;
    final int tokens;
    final int[] token;      // [tokens] token id per row
    final int[] position;   // [tokens] position per row
    final int[] chunkOf;    // [tokens] index of the row's chunk
    final int[] logitRows;  // rows whose logits are returned, in chunk order

    StepLayout(List<SequenceChunk> chunks, int blockSize, ModelConfig config) {
        if (chunks.isEmpty()) {
            throw new IllegalArgumentException("a forward step needs at least one chunk");
        }
        this.chunks = chunks;
        int n = 0;
        int logits = 0;
        for (SequenceChunk chunk : chunks) {
            n += chunk.tokens().length;
            logits += chunk.allLogits() ? chunk.tokens().length : 1;
            chunk.checkFits(config, blockSize);
        }
        this.tokens = n;
        this.token = new int[n];
        this.position = new int[n];
        this.chunkOf = new int[n];
        this.logitRows = new int[logits];
        int row = 0;
        int logitRow = 0;
        for (int s = 0; s < chunks.size(); s++) {
            SequenceChunk chunk = chunks.get(s);
            for (int i = 0; i < chunk.tokens().length; i++, row++) {
                token[row] = chunk.tokens()[i];
                position[row] = chunk.startPosition() + i;
                chunkOf[row] = s;
                if (chunk.allLogits() || i == chunk.tokens().length - 1) {
                    logitRows[logitRow++] = row;
                }
            }
        }
    }

    /** Where position {@code p} of row {@code t}'s sequence lives in a layer's V array. */
    int valueOffset(CpuKvCache kv, int t, int p) {
        return kv.offset(block(kv, t, p), p % kv.blockSize());
    }

    /** The KV block holding position {@code p} of row {@code t}'s sequence. */
    int block(CpuKvCache kv, int t, int p) {
        return chunks.get(chunkOf[t]).blockTable()[p / kv.blockSize()];
    }
}
