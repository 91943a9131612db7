package io.flinkglm.runtime.engine;

import static io.flinkglm.runtime.engine.ReferenceGeneration.concat;
import static io.flinkglm.runtime.engine.ReferenceGeneration.prompt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.cpu.CpuBackend;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.testing.TinyModels;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** KV exported block by block, kept append-only by a caller, imported back: the same tokens as never stopping. */
class KvSnapshotTest {
    private static final int VOCAB = 256;
    private static final int BLOCK = 16;
    private static final Backend BACKEND = new CpuBackend(TinyModels.small(1));

    @Test
    void blocksKeptAppendOnlyAcrossTurnsResumeExactlyAsAnUninterruptedConversation() throws Exception {
        int[] turn1 = prompt(7, 21, VOCAB);
        int[] turn2 = prompt(8, 9, VOCAB);
        int[] turn3 = prompt(9, 5, VOCAB);
        SamplingParams params = SamplingParams.builder().temperature(0.8).seed(42).maxTokens(12).build();

        // Uninterrupted: each turn's prompt is the whole history, served from the prefix cache.
        int[] a1;
        int[] a2;
        int[] a3;
        try (InferenceEngine engine = engine()) {
            a1 = run(engine, turn1, params, null, -1).outputTokens();
            a2 = run(engine, concat(concat(turn1, a1), turn2), params, null, -1).outputTokens();
            a3 = run(engine, concat(concat(concat(concat(turn1, a1), turn2), a2), turn3), params, null, -1).outputTokens();
        }

        // Interrupted after every turn: a fresh engine each time, the KV as kept blocks only.
        List<byte[]> kept = new ArrayList<>();
        KvSnapshot last;
        int[] history = turn1;
        long writtenFirstTurn;
        long writtenLaterTurn;
        try (InferenceEngine engine = engine()) {
            GenerationResult r = run(engine, history, params, null, 0);
            assertThat(r.outputTokens()).containsExactly(a1);
            last = keep(kept, r.kvSnapshot());
            writtenFirstTurn = r.kvSnapshot().bytes();
            history = concat(history, a1);
        }
        try (InferenceEngine engine = engine()) {
            history = concat(history, turn2);
            GenerationResult r = run(engine, history, params, assembled(last, kept), last.fullBlocks());
            assertThat(r.outputTokens()).containsExactly(a2);
            assertThat(r.kvSnapshot().firstBlock()).as("blocks already kept are not exported again").isEqualTo(last.fullBlocks());
            writtenLaterTurn = r.kvSnapshot().bytes();
            last = keep(kept, r.kvSnapshot());
            history = concat(history, a2);
        }
        try (InferenceEngine engine = engine()) {
            history = concat(history, turn3);
            GenerationResult r = run(engine, history, params, assembled(last, kept), last.fullBlocks());
            assertThat(r.outputTokens()).containsExactly(a3);
            assertThat(r.cachedPromptTokens()).isEqualTo(last.tokens().length);
        }
        assertThat(writtenLaterTurn).as("a turn writes its new blocks, not the history")
                .isLessThanOrEqualTo(writtenFirstTurn);
    }

    @Test
    void kvOfOtherWeightsOfTheSameShapeIsRefused() throws Exception {
        Glm4Model other = TinyModels.random(TinyModels.config(64, 2, 4, 2, 16, VOCAB), 2);
        assertThat(other.config()).isEqualTo(BACKEND.model().config());
        assertThat(other.fingerprint()).isNotEqualTo(BACKEND.model().fingerprint());
        int[] p = prompt(3, 20, VOCAB);
        KvSnapshot kv;
        try (InferenceEngine engine = engine()) {
            kv = run(engine, p, SamplingParams.GREEDY, null, 0).kvSnapshot();
        }
        try (InferenceEngine fineTuned = InferenceEngine.builder(new CpuBackend(other)).kvBlocks(64).blockSize(BLOCK).build()) {
            assertThatThrownBy(() -> fineTuned.submit(GenerationRequest.builder("y", concat(p, new int[] {1}))
                    .importedKv(kv).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("different model");
        }
    }

    @Test
    void aCorruptBlockFailsItsChecksum() throws Exception {
        int[] p = prompt(4, 40, VOCAB);
        KvSnapshot kv;
        try (InferenceEngine engine = engine()) {
            kv = run(engine, p, SamplingParams.GREEDY, null, 0).kvSnapshot();
        }
        List<byte[]> blocks = new ArrayList<>(kv.blocks());
        byte[] broken = blocks.get(1).clone();
        broken[5] ^= 1;
        blocks.set(1, broken);
        KvSnapshot corrupt = new KvSnapshot(kv.fingerprint(), kv.blockSize(), kv.tokens(), 0, blocks);
        try (InferenceEngine engine = engine()) {
            assertThatThrownBy(() -> engine.submit(GenerationRequest.builder("y", concat(p, new int[] {1}))
                    .importedKv(corrupt).build()))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("block 1").hasMessageContaining("checksum");
        }
    }

    /** What an append-only store does: overwrite from the snapshot's first block, keep the ones before. */
    private static KvSnapshot keep(List<byte[]> kept, KvSnapshot snapshot) {
        while (kept.size() > snapshot.firstBlock()) {
            kept.remove(kept.size() - 1);
        }
        kept.addAll(snapshot.blocks());
        return snapshot;
    }

    private static KvSnapshot assembled(KvSnapshot last, List<byte[]> kept) {
        return new KvSnapshot(last.fingerprint(), last.blockSize(), last.tokens(), 0, kept);
    }

    private static GenerationResult run(InferenceEngine engine, int[] prompt, SamplingParams params, KvSnapshot kv,
                                        int exportFrom) throws Exception {
        GenerationRequest.Builder b = GenerationRequest.builder("r", prompt).sampling(params);
        if (kv != null) {
            b.importedKv(kv);
        }
        if (exportFrom >= 0) {
            b.exportKvFrom(exportFrom);
        }
        return engine.submit(b.build()).result().get(60, TimeUnit.SECONDS);
    }

    private static InferenceEngine engine() {
        return InferenceEngine.builder(BACKEND).kvBlocks(64).blockSize(BLOCK).build();
    }
}
