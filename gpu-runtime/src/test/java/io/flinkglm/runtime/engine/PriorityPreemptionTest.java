package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.cpu.CpuBackend;
import io.flinkglm.runtime.testing.TinyModels;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** A higher priority arriving while the batch is full of lower-priority work. */
class PriorityPreemptionTest {
    private static final Backend BACKEND = new CpuBackend(TinyModels.small(5));
    private static final int VOCAB = 256;

    private static SamplingParams sampled(long seed, int maxTokens) {
        return SamplingParams.builder().temperature(0.9).topK(64).seed(seed).maxTokens(maxTokens).build();
    }

    @Test
    void aHighPriorityRequestPreemptsAFullBatchOfLowPriorityWorkAndEveryoneDrawsTheirAloneTokens() throws Exception {
        int[] urgentPrompt = ReferenceGeneration.prompt(99, 24, VOCAB);
        SamplingParams urgentParams = sampled(99, 16);
        CompletableFuture<RequestHandle> urgent = new CompletableFuture<>();
        List<int[]> lowPrompts = new ArrayList<>();
        List<RequestHandle> low = new ArrayList<>();
        try (InferenceEngine engine = InferenceEngine.builder(BACKEND).kvBlocks(256).maxBatchTokens(64)
                .maxRunningSequences(4).build()) {
            for (int i = 0; i < 6; i++) {
                int[] p = ReferenceGeneration.prompt(i, 20, VOCAB);
                lowPrompts.add(p);
                GenerationRequest.Builder r = GenerationRequest.builder("low-" + i, p).sampling(sampled(i, 40)).priority(5);
                if (i == 0) {
                    // Its third token: the four places are taken by low-priority sequences and two more wait.
                    r.listener((id, token, index) -> {
                        if (index == 2) {
                            urgent.complete(engine.submit(GenerationRequest.builder("urgent", urgentPrompt)
                                    .sampling(urgentParams).priority(0).build()));
                        }
                    });
                }
                low.add(engine.submit(r.build()));
            }

            GenerationResult u = urgent.get(30, TimeUnit.SECONDS).result().get(30, TimeUnit.SECONDS);

            // Without preemption it would wait ~37 steps for a low-priority sequence to finish its 40 tokens.
            assertThat(u.timings().queueSteps()).isLessThanOrEqualTo(1);
            assertThat(u.outputTokens()).containsExactly(ReferenceGeneration.generate(BACKEND, urgentPrompt, urgentParams));
            for (int i = 0; i < 6; i++) {
                assertThat(low.get(i).result().get(30, TimeUnit.SECONDS).outputTokens()).as("low %d", i)
                        .containsExactly(ReferenceGeneration.generate(BACKEND, lowPrompts.get(i), sampled(i, 40)));
            }
            assertThat(engine.metricsBetweenSteps().get(10, TimeUnit.SECONDS).preemptions()).isPositive();
        }
    }
}
