package io.flinkglm.runtime.backend;

import io.flinkglm.runtime.model.ModelConfig;
import org.apache.flink.annotation.Internal;

import java.util.ArrayList;
import java.util.List;

/**
 * A forward step flattened to rows, one per token, for any backend: the rows of short chunks first
 * (they share one batch-invariant projection launch) and then each long chunk's rows (one GEMM
 * each); the integers a row needs (token, position, KV block and slot, its chunk's block table),
 * packed in one array the GPU uploads in a single copy; and where each chunk's logits land.
 * Validates the chunks against the model before any work is done.
 *
 * <p>The CPU backend has no GEMM path and takes {@link #inCallerOrder}: every chunk is "short", so
 * the rows and the logit rows stay in the caller's chunk order.
 *
 * <pre>{@code
 * StepPlan plan = new StepPlan(chunks, kv.blockSize(), config, 16);
 * int token = plan.token(0), position = plan.position(0), block = plan.block(0, position);
 * }</pre>
 */
@Internal
public final class StepPlan {
    /** Rows {@code [0, kernelRows)} go through the invariant kernel; each gemm is {first row, rows}. */
    public record RowGroups(int kernelRows, List<int[]> gemms) {}

    public final int rows;
    public final int maxAttended;          // the most positions any row attends to (its position + 1)
    public final int[] logitRows;          // [logit rows] step row of each, in logit-buffer order
    public final RowGroups projection;
    public final RowGroups logitGroups;
    // Where each section of meta() starts; the first five hold one int per row.
    public final int tokensAt;
    public final int positionsAt;
    public final int tableStartAt;         // the row's block table's start within the tables section
    public final int slotBlockAt;          // the KV block the row's own position is stored in
    public final int slotIndexAt;          // its slot within that block
    public final int logitRowsAt;
    public final int tablesAt;             // every chunk's block table, back to back

    private final int blockSize;
    private final int[] meta;
    private final int[] logitStart; // per chunk, in the caller's order
    private final int[] logitCount;

    /** Rows in the caller's chunk order, all through one path: the plan of a backend without GEMMs. */
    public static StepPlan inCallerOrder(List<SequenceChunk> chunks, int blockSize, ModelConfig config) {
        return new StepPlan(chunks, blockSize, config, Integer.MAX_VALUE);
    }

    /** Chunks of {@code gemmMinTokens} or more tokens get a GEMM of their own, after the others' rows. */
    public StepPlan(List<SequenceChunk> chunks, int blockSize, ModelConfig config, int gemmMinTokens) {
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
        this.blockSize = blockSize;

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
    public int[] meta() {
        return meta;
    }

    public int metaInts() {
        return meta.length;
    }

    /** The token id of {@code row}. */
    public int token(int row) {
        return meta[tokensAt + row];
    }

    /** The sequence position of {@code row}. */
    public int position(int row) {
        return meta[positionsAt + row];
    }

    /** The KV block holding {@code position} of {@code row}'s sequence. */
    public int block(int row, int position) {
        return meta[tablesAt + meta[tableStartAt + row] + position / blockSize];
    }

    /** Splits the logits {@code [logitRows, vocab]} (padding rows past them ignored) into the caller's chunk order. */
    public float[][][] split(float[] all, int vocab) {
        return split(vocab, (row, destination) -> System.arraycopy(all, row * vocab, destination, 0, vocab));
    }

    /** Copies one logit row (in logit-buffer order) into {@code destination}. */
    public interface RowSource {
        void copy(int row, float[] destination);
    }

    /** Each chunk's logit rows, in the caller's chunk order, read row by row from {@code source}. */
    public float[][][] split(int vocab, RowSource source) {
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
