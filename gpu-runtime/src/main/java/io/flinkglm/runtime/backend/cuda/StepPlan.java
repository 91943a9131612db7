package io.flinkglm.runtime.backend.cuda;

import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.model.ModelConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * A forward step laid out for the GPU: one row per token, the rows of short chunks first (they
 * share one batch-invariant projection launch) and then each long chunk's rows (one GEMM each);
 * the integer metadata the kernels read, packed for a single upload; and where each chunk's
 * logits land. Validates the chunks against the model before anything reaches the device.
 */
final class StepPlan {
    /** Rows {@code [0, kernelRows)} go through the invariant kernel; each gemm is {first row, rows}. */
    record RowGroups(int kernelRows, List<int[]> gemms) {}

    final int rows;
    final int maxAttended;          // the most positions any row attends to (its position + 1)
    final int[] logitRows;          // step row of each logit row, in logit-buffer order
    final RowGroups projection;
    final RowGroups logitGroups;
    final int tokensAt;
    final int positionsAt;
    final int tableStartAt;
    final int slotBlockAt;
    final int slotIndexAt;
    final int logitRowsAt;
    final int tablesAt;

    private final int[] meta;
    private final int[] logitStart; // per chunk, in the caller's order
    private final int[] logitCount;

    StepPlan(List<SequenceChunk> chunks, int blockSize, ModelConfig config, int gemmMinTokens) {
        if (chunks.isEmpty()) {
            throw new IllegalArgumentException("a forward step needs at least one chunk");
        }
        int n = 0;
        int tableInts = 0;
        int logits = 0;
        List<Integer> order = new ArrayList<>();
        List<Integer> longChunks = new ArrayList<>();
        for (int s = 0; s < chunks.size(); s++) {
            SequenceChunk chunk = chunks.get(s);
            chunk.checkFits(config, blockSize);
            n += chunk.tokens().length;
            tableInts += chunk.blockTable().length;
            logits += chunk.allLogits() ? chunk.tokens().length : 1;
            (chunk.tokens().length < gemmMinTokens ? order : longChunks).add(s);
        }
        order.addAll(longChunks);
        this.rows = n;

        tokensAt = 0;
        positionsAt = n;
        tableStartAt = 2 * n;
        slotBlockAt = 3 * n;
        slotIndexAt = 4 * n;
        logitRowsAt = 5 * n;
        tablesAt = 5 * n + logits;
        meta = new int[tablesAt + tableInts];

        int[] tableOffset = new int[chunks.size()];
        for (int s = 0, at = 0; s < chunks.size(); s++) {
            int[] table = chunks.get(s).blockTable();
            System.arraycopy(table, 0, meta, tablesAt + at, table.length);
            tableOffset[s] = at;
            at += table.length;
        }

        int attended = 0;
        for (SequenceChunk chunk : chunks) {
            attended = Math.max(attended, chunk.startPosition() + chunk.tokens().length);
        }
        this.maxAttended = attended;

        int[] firstRow = new int[chunks.size()];
        int kernelRows = 0;
        List<int[]> gemms = new ArrayList<>();
        int row = 0;
        for (int s : order) {
            SequenceChunk chunk = chunks.get(s);
            firstRow[s] = row;
            int length = chunk.tokens().length;
            if (length < gemmMinTokens) {
                kernelRows += length;
            } else {
                gemms.add(new int[] {row, length});
            }
            for (int i = 0; i < length; i++, row++) {
                int position = chunk.startPosition() + i;
                meta[tokensAt + row] = chunk.tokens()[i];
                meta[positionsAt + row] = position;
                meta[tableStartAt + row] = tableOffset[s];
                meta[slotBlockAt + row] = chunk.blockTable()[position / blockSize];
                meta[slotIndexAt + row] = position % blockSize;
            }
        }
        this.projection = new RowGroups(kernelRows, List.copyOf(gemms));

        // Logit rows: every short chunk's and every long chunk's last row through the kernel,
        // then each long chunk that wants all its logits through its own GEMM.
        logitRows = new int[logits];
        logitStart = new int[chunks.size()];
        logitCount = new int[chunks.size()];
        int at = 0;
        for (int s : order) {
            SequenceChunk chunk = chunks.get(s);
            if (chunk.tokens().length < gemmMinTokens || !chunk.allLogits()) {
                at = placeLogits(s, chunk, firstRow[s], at);
            }
        }
        int kernelLogits = at;
        List<int[]> logitGemms = new ArrayList<>();
        for (int s : order) {
            SequenceChunk chunk = chunks.get(s);
            if (chunk.tokens().length >= gemmMinTokens && chunk.allLogits()) {
                logitGemms.add(new int[] {at, chunk.tokens().length});
                at = placeLogits(s, chunk, firstRow[s], at);
            }
        }
        System.arraycopy(logitRows, 0, meta, logitRowsAt, logits);
        this.logitGroups = new RowGroups(kernelLogits, List.copyOf(logitGemms));
    }

    private int placeLogits(int s, SequenceChunk chunk, int firstRow, int at) {
        int length = chunk.tokens().length;
        logitStart[s] = at;
        logitCount[s] = chunk.allLogits() ? length : 1;
        for (int i = chunk.allLogits() ? 0 : length - 1; i < length; i++) {
            logitRows[at++] = firstRow + i;
        }
        return at;
    }

    /** The step's integers, packed: tokens, positions, table starts, slot blocks and indices, logit rows, tables. */
    int[] meta() {
        return meta;
    }

    int metaInts() {
        return meta.length;
    }

    /** Splits the downloaded logits {@code [logitRows, vocab]} back into the caller's chunk order. */
    float[][][] split(float[] all, int vocab) {
        return split(vocab, (row, destination) -> System.arraycopy(all, row * vocab, destination, 0, vocab));
    }

    /** Copies one logit row (in logit-buffer order) into {@code destination}. */
    interface RowSource {
        void copy(int row, float[] destination);
    }

    /** Each chunk's logit rows, in the caller's chunk order, read row by row from {@code source}. */
    float[][][] split(int vocab, RowSource source) {
        float[][][] out = new float[logitStart.length][][];
        for (int s = 0; s < out.length; s++) {
            out[s] = new float[logitCount[s]][];
            for (int i = 0; i < logitCount[s]; i++) {
                out[s][i] = new float[vocab];
                source.copy(logitStart[s] + i, out[s][i]);
            }
        }
        return out;
    }
}
