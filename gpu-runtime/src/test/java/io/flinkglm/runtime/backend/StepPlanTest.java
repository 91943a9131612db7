package io.flinkglm.runtime.backend;

import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.ModelConfig;
import io.flinkglm.runtime.model.RandomCheckpoint;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class StepPlanTest {
    private static final ModelConfig CONFIG = RandomCheckpoint.preset("tiny", DType.BF16);
    private static final int BLOCK = 16;

    @Test
    void shortChunksShareTheKernelRowsAndEachLongChunkGetsItsOwnGemm() {
        SequenceChunk decode = new SequenceChunk(new int[] {7}, 20, new int[] {3, 4}, false);
        SequenceChunk prompt = new SequenceChunk(range(40), 0, new int[] {0, 1, 2}, true);
        SequenceChunk shortPrompt = new SequenceChunk(range(5), 0, new int[] {5}, false);

        StepPlan plan = new StepPlan(List.of(decode, prompt, shortPrompt), BLOCK, CONFIG, 16);

        assertThat(plan.rows).isEqualTo(46);
        assertThat(plan.projection.kernelRows()).isEqualTo(6);          // decode + short prompt first
        assertThat(plan.projection.gemms()).containsExactly(new int[] {6, 40});
        // Logit rows: decode (row 0), short prompt's last (row 5), then the 40 rows of the long chunk.
        assertThat(plan.logitGroups.kernelRows()).isEqualTo(2);
        assertThat(plan.logitGroups.gemms()).containsExactly(new int[] {2, 40});
        assertThat(plan.logitRows).startsWith(0, 5, 6, 7).endsWith(45);
    }

    @Test
    void metadataPlacesEachTokenInItsBlockSlot() {
        SequenceChunk decode = new SequenceChunk(new int[] {9}, 20, new int[] {3, 4}, false);
        StepPlan plan = new StepPlan(List.of(decode), BLOCK, CONFIG, 16);
        int[] meta = plan.meta();

        assertThat(meta[plan.tokensAt]).isEqualTo(9);
        assertThat(meta[plan.positionsAt]).isEqualTo(20);
        assertThat(meta[plan.slotBlockAt]).isEqualTo(4);   // position 20 is in the second block
        assertThat(meta[plan.slotIndexAt]).isEqualTo(4);   // at slot 20 - 16
        assertThat(meta[plan.tableStartAt]).isZero();
        assertThat(meta[plan.tablesAt]).isEqualTo(3);
        assertThat(meta[plan.tablesAt + 1]).isEqualTo(4);
    }

    @Test
    void logitsComeBackInTheCallersChunkOrder() {
        SequenceChunk a = new SequenceChunk(range(20), 0, new int[] {0, 1}, true);
        SequenceChunk b = new SequenceChunk(new int[] {1}, 3, new int[] {2}, false);
        StepPlan plan = new StepPlan(List.of(a, b), BLOCK, CONFIG, 16);
        int vocab = 3;
        float[] downloaded = new float[plan.logitRows.length * vocab];
        for (int r = 0; r < plan.logitRows.length; r++) {
            downloaded[r * vocab] = plan.logitRows[r]; // tag each logit row with its step row
        }

        float[][][] out = plan.split(downloaded, vocab);

        assertThat(out[0]).hasNumberOfRows(20);
        assertThat(out[0][0][0]).isEqualTo(1f);   // a's rows follow b's single row in the step
        assertThat(out[0][19][0]).isEqualTo(20f);
        assertThat(out[1]).hasNumberOfRows(1);
        assertThat(out[1][0][0]).isEqualTo(0f);
    }

    @Test
    void chunksThatDoNotFitAreRejectedBeforeAnythingRuns() {
        SequenceChunk tooLong = new SequenceChunk(range(40), 0, new int[] {0, 1}, false);
        assertThatThrownBy(() -> new StepPlan(List.of(tooLong), BLOCK, CONFIG, 16))
                .hasMessageContaining("cannot hold 40 positions");
        SequenceChunk badToken = new SequenceChunk(new int[] {CONFIG.vocabSize()}, 0, new int[] {0}, false);
        assertThatThrownBy(() -> new StepPlan(List.of(badToken), BLOCK, CONFIG, 16))
                .hasMessageContaining("outside the vocabulary");
    }

    private static int[] range(int n) {
        return IntStream.range(0, n).toArray();
    }
}
