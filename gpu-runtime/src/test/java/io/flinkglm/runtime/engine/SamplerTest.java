package io.flinkglm.runtime.engine;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.SplittableRandom;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class SamplerTest {
    private static final float[] LOGITS = {1f, 3f, -2f, 2.5f, 0f};

    @Test
    void greedyPicksTheLargestLogit() {
        assertThat(Sampler.sample(LOGITS, SamplingParams.GREEDY, new int[0], 0)).isEqualTo(1);
    }

    @Test
    void topKOfOneIsGreedyAtAnyTemperature() {
        SamplingParams p = SamplingParams.builder().temperature(5).topK(1).seed(3).build();
        for (int pos = 0; pos < 50; pos++) {
            assertThat(Sampler.sample(LOGITS, p, new int[0], pos)).isEqualTo(1);
        }
    }

    @Test
    void topKDrawsOnlyFromTheKBestTokensAndReachesEachOfThem() {
        java.util.SplittableRandom rng = new java.util.SplittableRandom(11);
        float[] logits = new float[5000];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) rng.nextGaussian();
        }
        logits[17] = logits[4000] = 9f; // a tie at the top: both must be kept
        Integer[] order = new Integer[logits.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        java.util.Arrays.sort(order, (a, b) -> logits[a] != logits[b] ? Float.compare(logits[b], logits[a]) : a - b);
        java.util.Set<Integer> best = new java.util.HashSet<>(java.util.Arrays.asList(order).subList(0, 8));
        SamplingParams p = SamplingParams.builder().temperature(50).topK(8).seed(5).build();

        java.util.Set<Integer> drawn = new java.util.HashSet<>();
        for (int position = 0; position < 400; position++) {
            drawn.add(Sampler.sample(logits, p, new int[0], position));
        }

        assertThat(drawn).isEqualTo(best);
    }

    @Test
    void topPKeepsOnlyTheNucleus() {
        // softmax: token 1 ~0.56, token 3 ~0.34: p = 0.8 keeps exactly {1, 3}
        SamplingParams p = SamplingParams.builder().temperature(1).topP(0.8).seed(9).build();
        Set<Integer> seen = new HashSet<>();
        for (int pos = 0; pos < 400; pos++) {
            seen.add(Sampler.sample(LOGITS, p, new int[0], pos));
        }
        assertThat(seen).containsExactlyInAnyOrder(1, 3);
    }

    @Test
    void theDrawDependsOnlyOnSeedAndPosition() {
        SamplingParams p = SamplingParams.builder().temperature(1).seed(42).build();
        float[] flat = new float[64];
        int[] first = new int[30];
        int[] second = new int[30];
        for (int pos = 0; pos < 30; pos++) {
            first[pos] = Sampler.sample(flat, p, new int[0], pos);
        }
        for (int pos = 29; pos >= 0; pos--) {
            second[pos] = Sampler.sample(flat, p, new int[0], pos);
        }
        assertThat(second).containsExactly(first);
        assertThat(new HashSet<>(java.util.Arrays.asList(box(first)))).hasSizeGreaterThan(5);
    }

    @Test
    void restrictedSoftmaxNormalisesOverTheGivenIds() {
        float[] probs = Sampler.restrictedSoftmax(LOGITS, new int[] {0, 4});
        assertThat(probs[0] + probs[1]).isCloseTo(1f, within(1e-6f));
        assertThat((double) probs[0]).isCloseTo(Math.exp(1) / (Math.exp(1) + 1), within(1e-6));
    }

    private static Integer[] box(int[] v) {
        Integer[] out = new Integer[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }
}
