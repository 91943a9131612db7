package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.RowResult;
import io.flinkglm.runtime.backend.RowSampling;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.backend.cpu.CpuBackend;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.model.RandomCheckpoint;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The backend's two paths agree: what {@link Backend#step} draws is what {@link Sampler} draws from
 * {@link Backend#forwardLogits}'s logits of the same step, for greedy, sampled, penalised, masked
 * and classification rows, over a prefill and several decode steps of a mixed batch.
 */
class BackendSamplingTest {
    private static final int BLOCK = 16;
    private static final int STEPS = 6;

    @TempDir
    static Path dir;
    private static Glm4Model model;

    @BeforeAll
    static void writeModel() throws Exception {
        RandomCheckpoint.write(dir, RandomCheckpoint.preset("tiny", DType.F32), DType.F32, 1, 3, null);
        model = Glm4Model.load(dir);
    }

    /** One sequence of the batch: its request's parameters, and a mask when it is constrained. */
    private record Sequence(int[] prompt, SamplingParams params, long[] allowed) {}

    @Test
    void drawnTokensEqualTheSamplerAppliedToTheLogitsPath() {
        int vocab = model.config().vocabSize();
        SplittableRandom random = new SplittableRandom(5);
        long[] mask = new long[(vocab + 63) / 64];
        for (int id = 0; id < vocab; id += 1 + random.nextInt(4)) {
            mask[id >>> 6] |= 1L << id;
        }
        List<Sequence> batch = List.of(
                new Sequence(random.ints(9, 0, vocab).toArray(), SamplingParams.GREEDY, null),
                new Sequence(random.ints(20, 0, vocab).toArray(),
                        SamplingParams.builder().temperature(0.8).topP(0.95).seed(41).build(), null),
                new Sequence(random.ints(3, 0, vocab).toArray(),
                        SamplingParams.builder().temperature(1.2).topK(7).repetitionPenalty(1.3).seed(42).build(), null),
                new Sequence(random.ints(12, 0, vocab).toArray(),
                        SamplingParams.builder().temperature(0.7).seed(43).stopTokenIds(List.of(5, 6)).build(), mask));

        try (Backend backend = new CpuBackend(model);
             KvCache sampling = backend.newKvCache(batch.size() * 2, BLOCK);
             KvCache logitsKv = backend.newKvCache(batch.size() * 2, BLOCK)) {
            List<int[]> histories = new ArrayList<>();
            for (Sequence s : batch) {
                histories.add(s.prompt());
            }
            for (int step = 0; step < STEPS; step++) {
                List<SequenceChunk> chunks = new ArrayList<>();
                List<RowSampling> rows = new ArrayList<>();
                for (int i = 0; i < batch.size(); i++) {
                    Sequence s = batch.get(i);
                    int[] history = histories.get(i);
                    int start = step == 0 ? 0 : history.length - 1;
                    chunks.add(new SequenceChunk(Arrays.copyOfRange(history, start, history.length), start,
                            new int[] {2 * i, 2 * i + 1}, false));
                    rows.add(Sampler.row(i, s.params(), history, history.length, s.allowed(), step % 2 == 1));
                }
                List<RowResult> drawn = backend.step(sampling, chunks, rows);
                float[][][] logits = backend.forwardLogits(logitsKv, chunks);

                for (int i = 0; i < batch.size(); i++) {
                    Sequence s = batch.get(i);
                    int[] history = histories.get(i);
                    float[] last = logits[i][0];
                    int expected = Sampler.sample(last, s.params(), history, history.length, s.allowed(), step % 2 == 1);
                    assertThat(drawn.get(i).token()).as("sequence %d, step %d", i, step).isEqualTo(expected);
                    if (s.params().isGreedy()) {
                        assertThat(drawn.get(i).token()).isEqualTo(Sampler.argmax(last));
                    }
                    histories.set(i, append(history, expected));
                }
            }
        }
    }

    @Test
    void onlyTheNamedChunksProduceAndClassificationRowsGiveTheRestrictedSoftmax() {
        int[] prompt = {3, 1, 4, 1, 5, 9, 2, 6};
        int[] classes = {10, 20, 30};
        try (Backend backend = new CpuBackend(model);
             KvCache sampling = backend.newKvCache(4, BLOCK);
             KvCache logitsKv = backend.newKvCache(4, BLOCK)) {
            List<SequenceChunk> chunks = List.of(
                    new SequenceChunk(Arrays.copyOf(prompt, 5), 0, new int[] {0}, false), // a prefill short of its end
                    new SequenceChunk(prompt, 0, new int[] {1}, false));
            List<RowResult> out = backend.step(sampling, chunks, List.of(RowSampling.classify(1, prompt.length, classes)));
            float[][][] logits = backend.forwardLogits(logitsKv, chunks);

            assertThat(out).hasSize(1);
            assertThat(out.get(0).token()).isEqualTo(-1);
            assertThat(out.get(0).probabilities()).containsExactly(Sampler.restrictedSoftmax(logits[1][0], classes));
        }
    }

    private static int[] append(int[] history, int token) {
        int[] out = Arrays.copyOf(history, history.length + 1);
        out[history.length] = token;
        return out;
    }
}
