package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.records.Completion;
import io.flinkglm.records.Sourced;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.ModelConfig;
import io.flinkglm.runtime.model.RandomCheckpoint;
import io.flinkglm.runtime.tokenizer.SyntheticTokenizer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.api.common.accumulators.Accumulator;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.runtime.state.storage.FileSystemCheckpointStorage;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.tasks.mailbox.TaskMailbox;
import org.apache.flink.streaming.util.AbstractStreamOperatorTestHarness;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import java.util.stream.Stream;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.state.forst.ForStOptions;
import org.apache.flink.state.forst.ForStStateBackend;

/**
 * A conversation's KV in keyed state on RocksDB with incremental checkpoints: what a checkpoint uploads
 * per turn follows the turn's new tokens, not the history; KV of other weights is refused and recomputed;
 * KV past its size limit is dropped and the conversation goes on from its tokens.
 */
class ConversationKvStateTest {
    private static final int TURNS = 20;
    private static final int MAX_PARALLELISM = 128;

    private static Configuration modelA;
    private static Configuration modelB; // the same shape, other weights: a "fine-tune" of A
    private static Configuration wideKv; // 8 layers x 8 KV heads: 8 KiB of KV per token, as a real model's dominates
    private static long wideKvBytesPerToken;

    @BeforeAll
    static void models(@TempDir Path a, @TempDir Path b, @TempDir Path wide) throws Exception {
        modelA = TinyGlm.write(a, 7);
        modelB = TinyGlm.write(b, 8);
        ModelConfig c = new ModelConfig(ModelConfig.Layout.HF, 128, 8, 8, 8, 16, 256, 1024, 4096,
                10000.0, 0.5, 1.5625e-07, List.of(), "bfloat16");
        RandomCheckpoint.write(wide, c, DType.BF16, 1, 9, null);
        SyntheticTokenizer.write(wide, c.vocabSize());
        wideKv = new Configuration(modelA);
        wideKv.set(GlmOptions.MODEL_PATH, wide.toString());
        wideKvBytesPerToken = 2L * c.numLayers() * c.numKvHeads() * c.headDim() * Float.BYTES; // K and V, float32
    }

    @Test
    void aCheckpointUploadsATurnsNewBlocksNotTheWholeHistory(@TempDir Path checkpoints) throws Exception {
        Turns kept = conversationOnRocksDb(GlmOptions.KvPersistence.ALWAYS, checkpoints.resolve("kv"));
        Turns tokensOnly = conversationOnRocksDb(GlmOptions.KvPersistence.NEVER, checkpoints.resolve("no-kv"));
        int blockSize = wideKv.get(GlmOptions.BLOCK_SIZE);
        long[] kvUpload = new long[TURNS];
        long[] allowed = new long[TURNS];
        for (int t = 1; t < TURNS; t++) {
            kvUpload[t] = kept.uploaded[t] - tokensOnly.uploaded[t];
            // The turn's new positions, plus the partial block it rewrites.
            allowed[t] = (kept.context[t] - kept.context[t - 1] + blockSize) * wideKvBytesPerToken;
        }
        long history = kept.context[TURNS - 1] * wideKvBytesPerToken;
        System.out.printf("KV state, %d bytes per token: uploads per turn with KV %s (snapshot ms %s), without %s;"
                        + " the KV's share %s, allowed (new tokens + one block) %s; the whole history's KV %d bytes%n",
                wideKvBytesPerToken, Arrays.toString(kept.uploaded), Arrays.toString(kept.snapshotMillis),
                Arrays.toString(tokensOnly.uploaded), Arrays.toString(kvUpload), Arrays.toString(allowed), history);
        double early = mean(kvUpload, 1, TURNS / 2);
        double late = mean(kvUpload, TURNS / 2, TURNS);
        double lateAllowed = mean(allowed, TURNS / 2, TURNS);
        assertThat((double) kept.context[TURNS - 1] / kept.context[TURNS / 2 - 1]).as("the history grew").isGreaterThan(1.8);
        assertThat(late).as("the KV's mean upload per turn, last half vs first half: flat while the history grows")
                .isLessThan(1.4 * early);
        // RocksDB's compactions rewrite recent files now and then (every other turn here), so a turn uploads
        // on average about twice its new blocks; never the history.
        assertThat(late).as("the KV's mean upload per turn vs its new blocks").isLessThan(3 * lateAllowed)
                .isLessThan(history / 4.0);
    }

    private static double mean(long[] values, int from, int to) {
        return Arrays.stream(values, from, to).average().orElseThrow();
    }

    /** What each of {@value #TURNS} turns' incremental checkpoint uploaded and took, and the context after it. */
    private record Turns(long[] uploaded, long[] snapshotMillis, int[] context) {}

    private static Turns conversationOnRocksDb(GlmOptions.KvPersistence persistence, Path checkpoints) throws Exception {
        long[] uploaded = new long[TURNS];
        long[] millis = new long[TURNS];
        int[] context = new int[TURNS];
        try (var harness = harness(with(wideKv, persistence))) {
            harness.setStateBackend(new EmbeddedRocksDBStateBackend(true));
            harness.setCheckpointStorage(new FileSystemCheckpointStorage(checkpoints.toUri()));
            harness.open();
            for (int t = 0; t < TURNS; t++) {
                answer(harness, TinyGlm.turn("long", 1, t).get(0));
                long start = System.nanoTime();
                OperatorSubtaskState checkpoint = harness.snapshot(t + 1, t + 1);
                harness.notifyOfCompletedCheckpoint(t + 1);
                millis[t] = (System.nanoTime() - start) / 1_000_000;
                uploaded[t] = checkpoint.getCheckpointedSize();
                context[t] = lastCompletion(harness).promptTokens() + lastCompletion(harness).completionTokens();
            }
        }
        return new Turns(uploaded, millis, context);
    }

    @Test
    void kvOfOtherWeightsIsRefusedAndTheTurnRecomputesAsWithoutKv() throws Exception {
        ChatInput first = TinyGlm.turn("ft", 1, 0).get(0);
        ChatInput second = TinyGlm.turn("ft", 1, 1).get(0);
        OperatorSubtaskState withKvOfA;
        try (var harness = harness(with(modelA, GlmOptions.KvPersistence.ALWAYS))) {
            harness.open();
            answer(harness, first);
            withKvOfA = harness.snapshot(1, 1);
        }
        Completion refusedThenRecomputed;
        long refused;
        try (var harness = harness(with(modelB, GlmOptions.KvPersistence.ALWAYS))) {
            harness.initializeState(withKvOfA);
            harness.open();
            answer(harness, second);
            refusedThenRecomputed = lastCompletion(harness);
            refused = accumulator(harness, GlmChatOperator.KV_REFUSED);
        }
        Completion withoutKv;
        try (var harness = harness(with(modelB, GlmOptions.KvPersistence.NEVER))) {
            harness.initializeState(withKvOfA);
            harness.open();
            answer(harness, second);
            withoutKv = lastCompletion(harness);
        }
        assertThat(refused).isEqualTo(1);
        assertThat(refusedThenRecomputed.text()).isEqualTo(withoutKv.text());
        assertThat(refusedThenRecomputed.completionTokens()).isEqualTo(withoutKv.completionTokens());
    }

    @Test
    void aConversationPastItsKvLimitGoesOnFromItsTokens() throws Exception {
        Configuration small = with(modelA, GlmOptions.KvPersistence.ALWAYS);
        small.set(GlmOptions.KV_MAX_BYTES, MemorySize.parse("1kb"));
        List<String> limited = new ArrayList<>();
        List<String> unlimited = new ArrayList<>();
        long dropped;
        OperatorSubtaskState checkpoint;
        try (var harness = harness(small)) {
            harness.open();
            for (int t = 0; t < 2; t++) {
                answer(harness, TinyGlm.turn("cap", 1, t).get(0));
                limited.add(lastCompletion(harness).text());
            }
            checkpoint = harness.snapshot(1, 1);
            dropped = accumulator(harness, GlmChatOperator.KV_DROPPED);
        }
        try (var restored = harness(small)) { // a restore: the third turn has only the tokens to go on
            restored.initializeState(checkpoint);
            restored.open();
            answer(restored, TinyGlm.turn("cap", 1, 2).get(0));
            limited.add(lastCompletion(restored).text());
        }
        try (var harness = harness(with(modelA, GlmOptions.KvPersistence.NEVER))) {
            harness.open();
            for (int t = 0; t < 3; t++) {
                answer(harness, TinyGlm.turn("cap", 1, t).get(0));
                unlimited.add(lastCompletion(harness).text());
            }
        }
        assertThat(dropped).isEqualTo(2);
        assertThat(limited).isEqualTo(unlimited);
    }

    /** The state backends production jobs keep large keyed state in: RocksDB, and ForSt on a local path. */
    static Stream<Arguments> backends() {
        return Stream.of(
                Arguments.of("rocksdb", (StateBackendFactory) dir -> new EmbeddedRocksDBStateBackend(true)),
                Arguments.of("forst", (StateBackendFactory) dir -> {
                    Configuration c = new Configuration();
                    c.set(ForStOptions.PRIMARY_DIRECTORY, dir.toUri().toString());
                    return new ForStStateBackend().configure(c, ConversationKvStateTest.class.getClassLoader());
                }));
    }

    interface StateBackendFactory {
        StateBackend create(Path dir) throws Exception;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void keptBlocksMoveWithTheirKeysWhenRescaled(String name, StateBackendFactory backend, @TempDir Path dir)
            throws Exception {
        List<ChatInput> firstTurns = TinyGlm.turn("scale", 6, 0);
        List<ChatInput> secondTurns = TinyGlm.turn("scale", 6, 1);
        Configuration config = with(modelA, GlmOptions.KvPersistence.ALWAYS);
        OperatorSubtaskState atOne;
        List<String> uninterrupted = new ArrayList<>();
        try (var harness = harness(config, 1, 0)) {
            harness.setStateBackend(backend.create(dir.resolve("p1")));
            harness.open();
            for (ChatInput in : firstTurns) {
                answer(harness, in);
            }
            atOne = harness.snapshot(1, 1);
            for (ChatInput in : secondTurns) {
                answer(harness, in);
                uninterrupted.add(lastCompletion(harness).requestId() + " " + lastCompletion(harness).text());
            }
        }
        List<String> rescaled = new ArrayList<>();
        long cached = 0;
        for (int subtask = 0; subtask < 2; subtask++) {
            try (var harness = harness(config, 2, subtask)) {
                harness.setStateBackend(backend.create(dir.resolve("p2-" + subtask)));
                harness.initializeState(AbstractStreamOperatorTestHarness.repartitionOperatorState(
                        atOne, MAX_PARALLELISM, 1, 2, subtask));
                harness.open();
                for (ChatInput in : secondTurns) {
                    if (ownsKey(in.conversationId(), 2, subtask)) {
                        answer(harness, in);
                        rescaled.add(lastCompletion(harness).requestId() + " " + lastCompletion(harness).text());
                    }
                }
                cached += accumulator(harness, GlmChatOperator.PROMPT_TOKENS_CACHED);
            }
        }
        assertThat(rescaled).containsExactlyInAnyOrderElementsOf(uninterrupted);
        assertThat(cached).as("history tokens taken from the restored KV blocks").isGreaterThan(0);
    }

    private static boolean ownsKey(String key, int parallelism, int subtask) {
        int group = org.apache.flink.runtime.state.KeyGroupRangeAssignment.assignToKeyGroup(key, MAX_PARALLELISM);
        return org.apache.flink.runtime.state.KeyGroupRangeAssignment
                .computeOperatorIndexForKeyGroup(MAX_PARALLELISM, parallelism, group) == subtask;
    }

    private static Configuration with(Configuration model, GlmOptions.KvPersistence persistence) {
        Configuration c = new Configuration(model);
        c.set(GlmOptions.KV_PERSISTENCE, persistence);
        return c;
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, ChatInput, Sourced<Completion>> harness(
            Configuration config) throws Exception {
        return harness(config, 1, 0);
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, ChatInput, Sourced<Completion>> harness(
            Configuration config, int parallelism, int subtask) throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(new GlmChatOperatorFactory(config),
                ChatInput::conversationId, Types.STRING, MAX_PARALLELISM, parallelism, subtask);
    }

    /** Feeds one input and runs the operator's mails until it has produced one more output. */
    private static void answer(KeyedOneInputStreamOperatorTestHarness<String, ChatInput, Sourced<Completion>> h,
                               ChatInput input) throws Exception {
        int before = outputs(h);
        h.processElement(input, 0);
        while (outputs(h) == before) {
            h.getTaskMailbox().take(TaskMailbox.MIN_PRIORITY).run();
        }
    }

    private static int outputs(KeyedOneInputStreamOperatorTestHarness<String, ChatInput, Sourced<Completion>> h) {
        int records = (int) h.getOutput().stream().filter(o -> o instanceof StreamRecord<?>).count();
        var errors = h.getSideOutput(GlmOutputs.ERRORS);
        var calls = h.getSideOutput(GlmOutputs.FUNCTION_CALLS);
        return records + (errors == null ? 0 : errors.size()) + (calls == null ? 0 : calls.size());
    }

    @SuppressWarnings("unchecked")
    private static Completion lastCompletion(KeyedOneInputStreamOperatorTestHarness<String, ChatInput, Sourced<Completion>> h) {
        Completion last = null;
        for (Object o : h.getOutput()) {
            if (o instanceof StreamRecord<?> r) {
                last = ((Sourced<Completion>) r.getValue()).value();
            }
        }
        return last;
    }

    private static long accumulator(AbstractStreamOperatorTestHarness<?> h, String name) {
        Accumulator<?, ?> a = h.getEnvironment().getAccumulatorRegistry().getUserMap().get(name);
        return a == null ? 0 : ((Number) a.getLocalValue()).longValue();
    }
}
