package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.cpu.CpuBackend;
import io.flinkglm.runtime.engine.GenerationResult.FinishReason;
import io.flinkglm.runtime.model.ModelConfig;
import io.flinkglm.runtime.testing.TinyModels;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import static io.flinkglm.runtime.engine.ReferenceGeneration.concat;
import static io.flinkglm.runtime.engine.ReferenceGeneration.prompt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The engine end to end on a random hidden-64, 2-layer model (4 heads over 2 KV heads, vocab 256). */
class InferenceEngineTest {
    private static final Backend BACKEND = new CpuBackend(TinyModels.small(1));
    private static final int VOCAB = 256;

    private static SamplingParams sampled(long seed, int maxTokens) {
        return SamplingParams.builder().temperature(0.9).topK(64).topP(0.95).repetitionPenalty(1.1)
                .seed(seed).maxTokens(maxTokens).build();
    }

    private static GenerationResult await(RequestHandle h) throws Exception {
        return h.result().get(30, TimeUnit.SECONDS);
    }

    private static InferenceEngine.Builder engine() {
        return InferenceEngine.builder(BACKEND).kvBlocks(256);
    }

    /** The invariant: once every request has finished, every block is free or cached (ref count 0). */
    private static void assertNoBlockHeld(InferenceEngine engine) throws Exception {
        EngineMetrics m = engine.metricsBetweenSteps().get(10, TimeUnit.SECONDS);
        assertThat(m.kvBlocksUsed()).isZero();
        assertThat(m.kvBlocksFree() + m.kvBlocksCached()).isEqualTo(m.kvBlocksTotal());
    }

    @Test
    void sixteenConcurrentRequestsProduceExactlyTheirOneAtATimeTokens() throws Exception {
        try (InferenceEngine engine = engine().maxBatchTokens(64).build()) {
            List<RequestHandle> handles = new ArrayList<>();
            List<int[]> expected = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                int[] p = prompt(i, 5 + 9 * i, VOCAB); // 5..140 tokens: some need several prefill chunks
                SamplingParams params = sampled(100 + i, 12);
                expected.add(ReferenceGeneration.generate(BACKEND, p, params));
                handles.add(engine.submit(GenerationRequest.builder("r" + i, p).sampling(params).build()));
            }
            for (int i = 0; i < 16; i++) {
                GenerationResult r = await(handles.get(i));
                assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
                assertThat(r.outputTokens()).as("request %d", i).containsExactly(expected.get(i));
            }
            assertNoBlockHeld(engine);
        }
    }

    @Test
    void aRequestDrawsTheSameTokensAloneInABatchOfSixteenAndResumedFromImportedKv() throws Exception {
        int[] p = prompt(77, 33, VOCAB);
        SamplingParams params = sampled(1234, 16);
        try (InferenceEngine engine = engine().maxBatchTokens(48).build()) {
            int[] alone = await(engine.submit(GenerationRequest.builder("alone", p).sampling(params).build())).outputTokens();

            List<RequestHandle> batch = new ArrayList<>();
            for (int i = 0; i < 15; i++) {
                batch.add(engine.submit(GenerationRequest.builder("n" + i, prompt(500 + i, 10 + 7 * i, VOCAB))
                        .sampling(sampled(i, 16)).build()));
            }
            RequestHandle inBatch = engine.submit(GenerationRequest.builder("batched", p).sampling(params)
                    .exportKv(true).build());
            GenerationResult batched = await(inBatch);
            for (RequestHandle h : batch) {
                await(h);
            }

            GenerationResult half;
            try (InferenceEngine other = engine().build()) {
                half = await(other.submit(GenerationRequest.builder("half", p)
                        .sampling(sampled(1234, 8)).exportKv(true).build()));
            }
            GenerationResult resumed;
            try (InferenceEngine fresh = engine().build()) {
                resumed = await(fresh.submit(GenerationRequest.builder("resumed", concat(p, half.outputTokens()))
                        .sampling(sampled(1234, 8)).importedKv(half.kv()).build()));
            }

            assertThat(batched.outputTokens()).containsExactly(alone);
            assertThat(concat(half.outputTokens(), resumed.outputTokens())).containsExactly(alone);
        }
    }

    @Test
    void aKvPoolGivenInBytesIsConvertedWithTheBackendsBlockSize() {
        long perBlock;
        try (var kv = BACKEND.newKvCache(1, 16)) {
            perBlock = kv.bytesPerBlock();
        }
        try (InferenceEngine engine = InferenceEngine.builder(BACKEND).kvBytes(perBlock * 40 + perBlock / 2).build()) {
            assertThat(engine.kvBlocks()).isEqualTo(40);
        }
        assertThatThrownBy(() -> InferenceEngine.builder(BACKEND).kvBlocks(8).kvBytes(1 << 20).build())
                .hasMessageContaining("not both");
    }

    @Test
    void theSameSeedGivesTheSameTokensAndAnotherSeedOthers() throws Exception {
        int[] p = prompt(7, 20, VOCAB);
        try (InferenceEngine engine = engine().build()) {
            int[] first = await(engine.submit(GenerationRequest.builder("a", p).sampling(sampled(5, 24)).build())).outputTokens();
            int[] again = await(engine.submit(GenerationRequest.builder("b", p).sampling(sampled(5, 24)).build())).outputTokens();
            int[] other = await(engine.submit(GenerationRequest.builder("c", p).sampling(sampled(6, 24)).build())).outputTokens();

            assertThat(again).containsExactly(first);
            assertThat(other).isNotEqualTo(first);
        }
    }

    @Test
    void aSecondTurnReusesTheFirstTurnsBlocks() throws Exception {
        int[] history = prompt(11, 70, VOCAB);
        try (InferenceEngine engine = engine().build()) {
            GenerationResult turn1 = await(engine.submit(GenerationRequest.builder("t1", history)
                    .sampling(sampled(1, 10)).build()));
            int[] turn2Prompt = concat(history, turn1.outputTokens(), prompt(12, 9, VOCAB));

            GenerationResult turn2 = await(engine.submit(GenerationRequest.builder("t2", turn2Prompt)
                    .sampling(sampled(2, 5)).build()));

            // turn 1 computed KV for its prompt and all but its last token: 79 positions, 4 full blocks of 16
            assertThat(turn2.cachedPromptTokens()).isEqualTo(64);
            assertThat(turn2.computedPromptTokens()).isEqualTo(turn2Prompt.length - 64);
            assertThat(turn2.outputTokens()).containsExactly(
                    ReferenceGeneration.generate(BACKEND, turn2Prompt, sampled(2, 5)));
            assertThat(engine.metrics().prefixCacheHitRate()).isGreaterThan(0.3);
        }
    }

    @Test
    void exportedKvResumesOnAFreshEngineExactlyAsIfNeverStopped() throws Exception {
        int[] p = prompt(21, 37, VOCAB);
        int[] neverStopped = ReferenceGeneration.generate(BACKEND, p, sampled(9, 20));
        GenerationResult first;
        try (InferenceEngine engine = engine().build()) {
            first = await(engine.submit(GenerationRequest.builder("part1", p).sampling(sampled(9, 10))
                    .exportKv(true).build()));
        }
        int[] resumedPrompt = concat(p, first.outputTokens());
        try (InferenceEngine fresh = engine().build()) {
            List<RequestHandle> others = new ArrayList<>();
            for (int i = 0; i < 6; i++) { // resume inside a batch, too
                others.add(fresh.submit(GenerationRequest.builder("o" + i, prompt(300 + i, 30, VOCAB))
                        .sampling(sampled(i, 10)).build()));
            }
            GenerationResult second = await(fresh.submit(GenerationRequest.builder("part2", resumedPrompt)
                    .sampling(sampled(9, 10)).importedKv(first.kv()).build()));

            assertThat(concat(first.outputTokens(), second.outputTokens())).containsExactly(neverStopped);
            // the KV covered everything but the last sampled token: only that token is prefilled
            assertThat(second.cachedPromptTokens()).isEqualTo(resumedPrompt.length - 1);
            assertThat(second.computedPromptTokens()).isEqualTo(1);
            for (RequestHandle h : others) {
                await(h);
            }
            assertNoBlockHeld(fresh);
        }
    }

    @Test
    void importedKvThatDoesNotFitIsRefusedWithTheReason() throws Exception {
        int[] p = prompt(31, 20, VOCAB);
        byte[] kv;
        try (InferenceEngine engine = engine().build()) {
            kv = await(engine.submit(GenerationRequest.builder("x", p).exportKv(true).build())).kv();
        }
        Backend otherModel = new CpuBackend(TinyModels.random(TinyModels.config(32, 2, 4, 2, 8, VOCAB), 1));
        byte[] corrupt = kv.clone();
        corrupt[corrupt.length / 2] ^= 1;
        int[] next = concat(p, new int[] {1, 2});
        try (InferenceEngine engine = engine().build();
             InferenceEngine other = InferenceEngine.builder(otherModel).kvBlocks(64).build()) {
            assertThatThrownBy(() -> other.submit(GenerationRequest.builder("y", next).importedKv(kv).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("different model");
            assertThatThrownBy(() -> engine.submit(GenerationRequest.builder("y", next).importedKv(corrupt).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("checksum");
            assertThatThrownBy(() -> engine.submit(GenerationRequest.builder("y", prompt(1, 40, VOCAB))
                    .importedKv(kv).build())).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("does not start with");
        }
    }

    @Test
    void aTinyKvPoolPreemptsButStillFinishesEveryRequestWithCorrectTokens() throws Exception {
        // 10 blocks of 4 = 40 positions; each request needs 28: at most one fits at a time once decoding
        // The references are computed first and the requests submitted together, so the pool is
        // contended: submitted one by one between references, each could run alone.
        List<int[]> prompts = new ArrayList<>();
        List<int[]> expected = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            prompts.add(prompt(40 + i, 12, VOCAB));
            expected.add(ReferenceGeneration.generate(BACKEND, prompts.get(i), sampled(i, 16)));
        }
        try (InferenceEngine engine = engine().kvBlocks(10).blockSize(4).build()) {
            List<RequestHandle> handles = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                handles.add(engine.submit(GenerationRequest.builder("r" + i, prompts.get(i)).sampling(sampled(i, 16)).build()));
            }
            for (int i = 0; i < 6; i++) {
                assertThat(await(handles.get(i)).outputTokens()).as("request %d", i).containsExactly(expected.get(i));
            }
            assertThat(engine.metrics().preemptions()).isPositive();
            assertNoBlockHeld(engine);
        }
    }

    @Test
    void aRequestLargerThanTheWholePoolEndsWithAnError() throws Exception {
        try (InferenceEngine engine = engine().kvBlocks(4).blockSize(4).build()) {
            GenerationResult tooLong = await(engine.submit(GenerationRequest.builder("big", prompt(1, 30, VOCAB)).build()));
            GenerationResult grows = await(engine.submit(GenerationRequest.builder("grows", prompt(2, 10, VOCAB))
                    .sampling(SamplingParams.builder().maxTokens(40).build()).build()));

            assertThat(tooLong.finishReason()).isEqualTo(FinishReason.ERROR);
            assertThat(tooLong.message()).contains("30 tokens", "4 blocks");
            assertThat(grows.finishReason()).isEqualTo(FinishReason.ERROR);
            assertThat(grows.outputTokens()).hasSize(7); // 16 positions of KV fit; the 7th token's would be the 17th
            assertNoBlockHeld(engine);
        }
    }

    @Test
    void maxTokensIsCappedAtTheContextLeftAfterThePrompt() throws Exception {
        ModelConfig c = TinyModels.config(64, 2, 4, 2, 16, VOCAB);
        ModelConfig shortContext = new ModelConfig(c.layout(), c.hiddenSize(), c.numLayers(), c.numHeads(),
                c.numKvHeads(), c.headDim(), c.intermediateSize(), c.vocabSize(), 40, c.ropeTheta(),
                c.partialRotaryFactor(), c.rmsNormEps(), c.eosTokenIds(), c.torchDtype());
        try (InferenceEngine engine = InferenceEngine.builder(new CpuBackend(TinyModels.random(shortContext, 1)))
                .kvBlocks(64).build()) {
            GenerationResult r = await(engine.submit(GenerationRequest.builder("long", prompt(3, 30, VOCAB))
                    .sampling(SamplingParams.builder().maxTokens(Integer.MAX_VALUE).build()).build()));

            assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(r.outputTokens()).hasSize(40 - 30);
            assertThatThrownBy(() -> engine.trySubmit(GenerationRequest.builder("full", prompt(4, 40, VOCAB)).build()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("prompt of 40 tokens but the model holds 40 positions");
        }
    }

    @Test
    void cancellingARunningRequestFreesItsBlocks() throws Exception {
        try (InferenceEngine engine = engine().build()) {
            CompletableFuture<Integer> firstToken = new CompletableFuture<>();
            RequestHandle h = engine.submit(GenerationRequest.builder("long", prompt(3, 30, VOCAB))
                    .sampling(sampled(3, 3000)).listener((id, token, index) -> firstToken.complete(token)).build());
            firstToken.get(30, TimeUnit.SECONDS);

            h.cancel();

            GenerationResult r = await(h);
            assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
            assertThat(r.outputTokens().length).isLessThan(3000);
            assertNoBlockHeld(engine);
        }
    }

    @Test
    void severalThreadsCanSubmitAtOnce() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try (InferenceEngine engine = engine().build()) {
            List<Future<Boolean>> checks = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                checks.add(pool.submit(() -> {
                    for (int i = 0; i < 5; i++) {
                        int[] p = prompt(1000 * thread + i, 8 + i, VOCAB);
                        SamplingParams params = sampled(thread * 10 + i, 6);
                        int[] got = await(engine.submit(GenerationRequest.builder(thread + "/" + i, p)
                                .sampling(params).build())).outputTokens();
                        if (!Arrays.equals(got, ReferenceGeneration.generate(BACKEND, p, params))) {
                            return false;
                        }
                    }
                    return true;
                }));
            }
            for (Future<Boolean> ok : checks) {
                assertThat(ok.get(60, TimeUnit.SECONDS)).isTrue();
            }
            assertNoBlockHeld(engine);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aFullQueueRefusesNewRequestsVisibly() throws Exception {
        CountDownLatch engineBusy = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        try (InferenceEngine engine = engine().maxQueuedRequests(2).build()) {
            // The first request's listener holds the engine thread, so nothing leaves the queue.
            RequestHandle blocker = engine.submit(GenerationRequest.builder("blocker", prompt(1, 5, VOCAB))
                    .listener((id, token, index) -> {
                        engineBusy.countDown();
                        try {
                            release.await(30, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }).build());
            assertThat(engineBusy.await(30, TimeUnit.SECONDS)).isTrue();
            RequestHandle a = engine.submit(GenerationRequest.builder("a", prompt(2, 5, VOCAB)).build());
            RequestHandle b = engine.submit(GenerationRequest.builder("b", prompt(3, 5, VOCAB)).build());

            assertThat(engine.hasCapacity()).isFalse();
            assertThat(engine.queuedRequests()).isEqualTo(2);
            assertThat(engine.trySubmit(GenerationRequest.builder("c", prompt(4, 5, VOCAB)).build())).isEmpty();
            assertThatThrownBy(() -> engine.submit(GenerationRequest.builder("c", prompt(4, 5, VOCAB)).build()))
                    .isInstanceOf(EngineFullException.class).hasMessageContaining("2 waiting");

            release.countDown();
            await(blocker);
            await(a);
            await(b);
            assertThat(engine.hasCapacity()).isTrue();
        } finally {
            release.countDown();
        }
    }

    @Test
    void classificationReturnsTheSoftmaxOfTheBackendsLogitsOverTheIds() throws Exception {
        int[] policy = prompt(50, 64, VOCAB);
        int[] labels = {3, 17, 42, 200};
        try (InferenceEngine engine = engine().build()) {
            float[][] expected = new float[2][];
            GenerationResult[] results = new GenerationResult[2];
            for (int i = 0; i < 2; i++) {
                int[] p = concat(policy, prompt(60 + i, 7, VOCAB));
                float[] logits = ReferenceGeneration.lastLogits(BACKEND, p);
                expected[i] = new float[labels.length];
                double sum = 0;
                for (int j = 0; j < labels.length; j++) {
                    sum += Math.exp(logits[labels[j]]);
                }
                for (int j = 0; j < labels.length; j++) {
                    expected[i][j] = (float) (Math.exp(logits[labels[j]]) / sum);
                }
                results[i] = await(engine.submit(GenerationRequest.builder("c" + i, p).classify(labels).build()));
            }

            for (int i = 0; i < 2; i++) {
                assertThat(results[i].finishReason()).isEqualTo(FinishReason.CLASSIFIED);
                assertThat(results[i].outputTokens()).isEmpty();
                assertThat(results[i].classProbabilities()).containsExactly(expected[i], within(1e-6f));
            }
            assertThat(results[1].computedPromptTokens()).isEqualTo(7); // the shared policy came from the cache
            assertNoBlockHeld(engine);
        }
    }

    @Test
    void deadlinesEndWaitingAndRunningRequests() throws Exception {
        try (InferenceEngine engine = engine().build()) {
            GenerationResult expired = await(engine.submit(GenerationRequest.builder("late", prompt(1, 5, VOCAB))
                    .deadlineMillis(System.currentTimeMillis() - 1).build()));
            long deadline = System.currentTimeMillis() + 100;
            // The listener holds the engine until the deadline has passed, so the outcome does not
            // depend on how fast this machine decodes: exactly one token, then DEADLINE.
            GenerationResult running = await(engine.submit(GenerationRequest.builder("slow", prompt(2, 5, VOCAB))
                    .sampling(sampled(1, 1000)).deadlineMillis(deadline)
                    .listener((id, token, index) -> {
                        while (System.currentTimeMillis() <= deadline) {
                            LockSupport.parkUntil(deadline + 1);
                        }
                    }).build()));

            assertThat(expired.finishReason()).isEqualTo(FinishReason.DEADLINE);
            assertThat(expired.outputTokens()).isEmpty();
            assertThat(running.finishReason()).isEqualTo(FinishReason.DEADLINE);
            assertThat(running.outputTokens()).hasSize(1);
            assertNoBlockHeld(engine);
        }
    }

    @Test
    void closingTheEngineCancelsOutstandingRequests() throws Exception {
        InferenceEngine engine = engine().build();
        CompletableFuture<Integer> firstToken = new CompletableFuture<>();
        RequestHandle running = engine.submit(GenerationRequest.builder("long", prompt(3, 30, VOCAB))
                .sampling(sampled(3, 3000)).listener((id, token, index) -> firstToken.complete(token)).build());
        firstToken.get(30, TimeUnit.SECONDS);

        engine.close();

        assertThat(await(running).finishReason()).isEqualTo(FinishReason.CANCELLED);
        assertThatThrownBy(() -> engine.submit(GenerationRequest.builder("after", prompt(1, 5, VOCAB)).build()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void stopTokensAndStopStringsEndGeneration() throws Exception {
        int[] p = prompt(5, 10, VOCAB);
        int[] free = ReferenceGeneration.generate(BACKEND, p, sampled(4, 8));
        AtomicInteger streamed = new AtomicInteger();
        try (InferenceEngine engine = engine().detokenizer(ids -> Arrays.toString(ids)).build()) {
            GenerationResult byToken = await(engine.submit(GenerationRequest.builder("t", p)
                    .sampling(SamplingParams.builder().temperature(0.9).topK(64).topP(0.95).repetitionPenalty(1.1)
                            .seed(4).maxTokens(8).stopTokenIds(List.of(free[2])).build())
                    .listener((id, token, index) -> streamed.incrementAndGet()).build()));
            GenerationResult byString = await(engine.submit(GenerationRequest.builder("s", p)
                    .sampling(SamplingParams.builder().temperature(0.9).topK(64).topP(0.95).repetitionPenalty(1.1)
                            .seed(4).maxTokens(8).stopStrings(List.of(free[0] + ", " + free[1])).build()).build()));

            int firstStop = 0;
            while (free[firstStop] != free[2]) {
                firstStop++;
            }
            assertThat(byToken.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(byToken.stopTokenId()).isEqualTo(free[2]);
            assertThat(byToken.outputTokens()).containsExactly(Arrays.copyOf(free, firstStop));
            assertThat(streamed.get()).isEqualTo(firstStop);
            assertThat(byString.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(byString.outputTokens()).containsExactly(free[0], free[1]);
        }
    }

    @Test
    void metricsReportEveryStep() throws Exception {
        List<EngineMetrics> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (InferenceEngine engine = engine().metricsListener(seen::add).build()) {
            await(engine.submit(GenerationRequest.builder("m", prompt(8, 20, VOCAB)).sampling(sampled(1, 10)).build()));

            EngineMetrics m = engine.metricsBetweenSteps().get(10, TimeUnit.SECONDS);
            assertThat(seen).hasSize(10); // one prefill step that samples, then nine decodes
            assertThat(m.steps()).isEqualTo(10);
            assertThat(m.generatedTokens()).isEqualTo(10);
            assertThat(m.finishedRequests()).isEqualTo(1);
            assertThat(m.ttftMsP50()).isPositive();
            assertThat(m.tpotMsP99()).isPositive();
        }
    }
}
