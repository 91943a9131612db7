package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.cpu.CpuBackend;
import io.flinkglm.runtime.engine.GenerationResult.FinishReason;
import io.flinkglm.runtime.testing.TinyModels;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A bulk tenant with 200 queued long prompts beside an interactive tenant that sends short prompts one at a
 * time, each when the previous one has finished. Time is counted in engine steps
 * ({@link GenerationResult.Timings#firstTokenSteps()}), so the figures do not depend on the machine.
 */
class TenantFairnessTest {
    private static final Backend BACKEND = new CpuBackend(TinyModels.small(3));
    private static final int VOCAB = 256;
    private static final int BULK_REQUESTS = 200;
    private static final int CHAT_REQUESTS = 12;

    private static Run alone;
    private static Run fair;
    private static Run fcfs;

    /** What one workload produced: results in submission order. */
    private record Run(List<GenerationResult> bulk, List<GenerationResult> chat) {
        long worstChatTtftSteps() {
            return chat.stream().mapToLong(r -> r.timings().firstTokenSteps()).max().orElseThrow();
        }
    }

    @BeforeAll
    static void runWorkloads() throws Exception {
        alone = run(Fairness.FAIR, 0);
        fair = run(Fairness.FAIR, BULK_REQUESTS);
        fcfs = run(Fairness.FCFS, BULK_REQUESTS);
    }

    private static Run run(Fairness fairness, int bulkRequests) throws Exception {
        try (InferenceEngine engine = InferenceEngine.builder(BACKEND).kvBlocks(1024).maxBatchTokens(512)
                .maxRunningSequences(64).fairness(fairness).build()) {
            List<CompletableFuture<GenerationResult>> bulk = new ArrayList<>();
            for (int i = 0; i < bulkRequests; i++) {
                bulk.add(engine.submit(GenerationRequest.builder("bulk-" + i, ReferenceGeneration.prompt(1000 + i, 96, VOCAB))
                        .sampling(sampled(1000 + i, 32)).tenant("bulk").build()).result());
            }
            List<GenerationResult> chat = Collections.synchronizedList(new ArrayList<>());
            CompletableFuture<Void> chatDone = new CompletableFuture<>();
            sendChat(engine, 0, chat, chatDone);
            chatDone.get(120, TimeUnit.SECONDS);
            List<GenerationResult> bulkResults = new ArrayList<>();
            for (CompletableFuture<GenerationResult> f : bulk) {
                bulkResults.add(f.get(120, TimeUnit.SECONDS));
            }
            return new Run(bulkResults, List.copyOf(chat));
        }
    }

    /** Sends chat request {@code i} and, once it has finished, the next: a user who reads each answer first. */
    private static void sendChat(InferenceEngine engine, int i, List<GenerationResult> results,
                                 CompletableFuture<Void> done) {
        RequestHandle h = engine.submit(GenerationRequest.builder("chat-" + i, ReferenceGeneration.prompt(i, 8, VOCAB))
                .sampling(sampled(i, 4)).tenant("chat").build());
        h.result().whenComplete((r, failure) -> {
            if (failure != null) {
                done.completeExceptionally(failure);
                return;
            }
            results.add(r);
            if (i + 1 < CHAT_REQUESTS) {
                sendChat(engine, i + 1, results, done);
            } else {
                done.complete(null);
            }
        });
    }

    private static SamplingParams sampled(long seed, int maxTokens) {
        return SamplingParams.builder().temperature(0.9).topK(64).seed(seed).maxTokens(maxTokens).build();
    }

    @Test
    void fairSharingKeepsTheInteractiveTenantsTtftWithinTwiceAloneWhileFcfsPutsItBehindTheBacklog() {
        long aloneSteps = alone.worstChatTtftSteps();

        assertThat(fair.worstChatTtftSteps()).as("FAIR, worst TTFT in steps (alone: %d)", aloneSteps)
                .isLessThanOrEqualTo(2 * aloneSteps);
        assertThat(fcfs.worstChatTtftSteps()).as("FCFS, worst TTFT in steps (alone: %d)", aloneSteps)
                .isGreaterThan(5 * aloneSteps);
        assertThat(fair.bulk()).extracting(GenerationResult::finishReason).containsOnly(FinishReason.LENGTH);
        assertThat(fcfs.bulk()).extracting(GenerationResult::finishReason).containsOnly(FinishReason.LENGTH);
    }

    @Test
    void everySequenceDrawsTheSameTokensWithFairnessOnAndOff() {
        for (int i = 0; i < BULK_REQUESTS; i++) {
            assertThat(fair.bulk().get(i).outputTokens()).as("bulk %d", i)
                    .hasSize(32).containsExactly(fcfs.bulk().get(i).outputTokens());
        }
        for (int i = 0; i < CHAT_REQUESTS; i++) {
            assertThat(fair.chat().get(i).outputTokens()).as("chat %d", i)
                    .hasSize(4)
                    .containsExactly(fcfs.chat().get(i).outputTokens())
                    .containsExactly(alone.chat().get(i).outputTokens());
        }
    }
}
