package io.flinkglm.runtime.backend;

import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.model.RandomCheckpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HostSamplerTest {
    @TempDir
    Path dir;

    @Test
    void theRadixSortOrdersCandidatesExactlyAsTheComparisonSortDoes() {
        SplittableRandom random = new SplittableRandom(11);
        float[] specials = {0f, -0f, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.MIN_VALUE, -Float.MAX_VALUE};
        for (int round = 0; round < 50; round++) {
            int n = random.nextInt(0, 5000);
            long[] keys = new long[n];
            for (int id = 0; id < n; id++) { // made in id order, as the sampler makes them
                float logit = switch (random.nextInt(4)) {
                    case 0 -> specials[random.nextInt(specials.length)];
                    case 1 -> random.nextInt(-3, 3); // many ties
                    default -> (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-3, 4)));
                };
                keys[id] = HostSampler.sortKey(logit, id);
            }
            long[] expected = keys.clone();
            Arrays.sort(expected);
            HostSampler.sortKeysInIdOrder(keys, n);
            assertThat(keys).isEqualTo(expected);
        }
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOnce() {
        float[] x = {2f, -2f, 1f};
        HostSampler.applyRepetitionPenalty(x, new int[] {0, 1, 0, 0}, 2f);
        assertThat(x).containsExactly(1f, -4f, 1f);
    }

    @Test
    void aRowWithNonFiniteLogitsFailsAloneAndTheOtherRowsDraw() throws Exception {
        RandomCheckpoint.write(dir, RandomCheckpoint.preset("tiny", DType.F32), DType.F32, 1, 1, null);
        Glm4Model model = Glm4Model.load(dir);
        float[] healthy = {0f, 3f, 1f};
        float[] poisoned = {0f, Float.NaN, 1f};
        float[][][] logits = {{healthy}, {poisoned}, {healthy}};

        List<RowResult> out = HostSampler.sampleRows(model, logits, List.of(
                RowSampling.greedy(0, 5), RowSampling.greedy(1, 9), RowSampling.classify(2, 4, new int[] {0, 2})));

        assertThat(out.get(0).token()).isEqualTo(1);
        assertThat(out.get(1).failed()).isTrue();
        assertThat(out.get(1).error()).contains("non-finite logit (NaN for token 1)")
                .contains("choosing the token at position 9").contains(dir.toString());
        assertThat(out.get(2).probabilities()).hasSize(2);
        assertThat(out.get(2).failed()).isFalse();
    }

    @Test
    void rowsMustNameDistinctChunksOfTheStep() {
        assertThatThrownBy(() -> RowSampling.checkRows(List.of(RowSampling.greedy(2, 0)), 2))
                .hasMessageContaining("reads chunk 2 but the step has 2 chunks");
        assertThatThrownBy(() -> RowSampling.checkRows(List.of(RowSampling.greedy(1, 0), RowSampling.greedy(1, 3)), 2))
                .hasMessageContaining("two sampling rows read chunk 1");
    }

    @Test
    void aMaskedDrawNeverLeavesTheMaskAndStopTokensFollowStopAllowed() {
        float[] logits = {5f, 0f, 4f, 0f, 9f};
        long[] allowed = {0b00101L}; // tokens 0 and 2
        int[] stops = {4};
        for (int position = 0; position < 50; position++) {
            int closed = HostSampler.sample(logits, RowSampling.draw(0, 1.0, 0, 1, 1, 7, stops, null, position, allowed, false));
            assertThat(closed).isIn(0, 2);
        }
        assertThat(HostSampler.sample(logits, RowSampling.draw(0, 0, 0, 1, 1, 7, stops, null, 0, allowed, true)))
                .isEqualTo(4);
    }
}
