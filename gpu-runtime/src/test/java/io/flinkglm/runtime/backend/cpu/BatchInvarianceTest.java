package io.flinkglm.runtime.backend.cpu;

import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.model.RandomCheckpoint;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A sequence's logits are bit-identical whatever else shares the step and however its prompt is
 * chunked: the property that makes replay after a failure byte-identical.
 */
class BatchInvarianceTest {
    private static CpuBackend backend;
    private static final int[] PROMPT = {5, 17, 300, 2, 999, 64, 7, 7, 12, 40, 41, 42, 43, 1000, 3, 9, 8, 100, 200};

    @BeforeAll
    static void model(@TempDir Path dir) throws Exception {
        RandomCheckpoint.write(dir, RandomCheckpoint.preset("tiny", DType.BF16), DType.BF16, 1, 11, null);
        backend = new CpuBackend(Glm4Model.load(dir));
    }

    @Test
    void logitsAloneEqualLogitsInAMixedBatch() {
        float[] alone;
        try (KvCache kv = backend.newKvCache(16, 4)) {
            alone = backend.forwardLogits(kv, List.of(new SequenceChunk(PROMPT, 0, blocks(0, 5), false)))[0][0];
        }
        float[] batched;
        try (KvCache kv = backend.newKvCache(16, 4)) {
            backend.forwardLogits(kv, List.of(new SequenceChunk(new int[] {1, 2, 3, 4, 5, 6}, 0, blocks(5, 2), false)));
            batched = backend.forwardLogits(kv, List.of(
                    new SequenceChunk(new int[] {77}, 6, blocks(5, 2), false),
                    new SequenceChunk(PROMPT, 0, blocks(7, 5), false),
                    new SequenceChunk(new int[] {9, 9, 9}, 0, blocks(12, 1), true)))[1][0];
        }
        assertThat(batched).isEqualTo(alone);
    }

    @Test
    void chunkedPrefillEqualsOneChunk() {
        float[] whole;
        try (KvCache kv = backend.newKvCache(8, 4)) {
            whole = backend.forwardLogits(kv, List.of(new SequenceChunk(PROMPT, 0, blocks(0, 5), false)))[0][0];
        }
        float[] chunked;
        try (KvCache kv = backend.newKvCache(8, 4)) {
            int[] table = blocks(3, 5);
            backend.forwardLogits(kv, List.of(new SequenceChunk(slice(0, 7), 0, table, false)));
            backend.forwardLogits(kv, List.of(new SequenceChunk(slice(7, 8), 7, table, false)));
            chunked = backend.forwardLogits(kv, List.of(new SequenceChunk(slice(8, PROMPT.length), 8, table, false)))[0][0];
        }
        assertThat(chunked).isEqualTo(whole);
    }

    /** Past CpuBackend's token slice (128) a product goes in slices: every position's logits stay those of short chunks. */
    @Test
    void aLongChunkEqualsShortChunksAtEveryPosition() {
        int[] prompt = new int[301];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = (i * 37 + 11) % 1000;
        }
        int[] table = blocks(0, 76);
        float[][] whole;
        try (KvCache kv = backend.newKvCache(76, 4)) {
            whole = backend.forwardLogits(kv, List.of(new SequenceChunk(prompt, 0, table, true)))[0];
        }
        try (KvCache kv = backend.newKvCache(76, 4)) {
            for (int from = 0; from < prompt.length; from += 100) {
                int to = Math.min(prompt.length, from + 100);
                float[][] part = backend.forwardLogits(kv, List.of(new SequenceChunk(
                        java.util.Arrays.copyOfRange(prompt, from, to), from, table, true)))[0];
                for (int i = 0; i < part.length; i++) {
                    assertThat(part[i]).as("position %d", from + i).isEqualTo(whole[from + i]);
                }
            }
        }
    }

    private static int[] slice(int from, int to) {
        return java.util.Arrays.copyOfRange(PROMPT, from, to);
    }

    private static int[] blocks(int first, int count) {
        int[] t = new int[count];
        for (int i = 0; i < count; i++) {
            t[i] = first + i;
        }
        return t;
    }
}
