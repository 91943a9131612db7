package io.flinkglm.operator;

import io.flinkglm.records.Completion;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SamplingOverrides;
import io.flinkglm.records.Sourced;
import io.flinkglm.records.Task;
import io.flinkglm.runtime.model.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.storage.FileSystemCheckpointStorage;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.tasks.mailbox.TaskMailbox;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;

/**
 * Benchmark, not a test: after a restore, is the next turn faster reading the conversation's KV blocks back
 * from RocksDB, or recomputing its history? For each history length, one conversation is checkpointed on
 * RocksDB after its first turn and restored twice: with {@code kv-persistence ALWAYS} (read + import the
 * blocks, prefill the new message) and {@code NEVER} (prefill everything). The second turn generates one
 * token, so its time is the prefill path alone. The crossover is where {@code glm.state.kv-min-tokens}
 * (AUTO) belongs for this backend and model.
 *
 * <pre>{@code
 * bin/glm make-model --out /tmp/small-bf16 --preset small --dtype bf16
 * mvn -q -pl flink-glm-operator -am test-compile dependency:build-classpath -DskipTests \
 *     -Dmdep.includeScope=test -Dmdep.outputFile=/tmp/cp.txt
 * java --add-modules jdk.incubator.vector --add-opens=java.base/java.util=ALL-UNNAMED (and the pom's flink.opens) \
 *     -cp flink-glm-operator/target/test-classes:flink-glm-operator/target/classes:$(cat /tmp/cp.txt) \
 *     io.flinkglm.operator.KvRestoreBench /tmp/small-bf16 32,64,128,256,512,1024
 * }</pre>
 */
public final class KvRestoreBench {
    private KvRestoreBench() {}

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[0]);
        String[] lengths = (args.length > 1 ? args[1] : "32,64,128,256,512,1024").split(",");
        ModelConfig c = ModelConfig.read(model);
        long bytesPerToken = 2L * c.numLayers() * c.numKvHeads() * c.headDim() * Float.BYTES;
        Configuration base = new Configuration();
        base.set(GlmOptions.MODEL_PATH, model.toString());
        base.set(GlmOptions.BACKEND, "cpu");
        base.set(GlmOptions.KV_CACHE_BYTES, 512L << 20);
        System.out.printf("model %s: %d KV bytes per token (float32)%nhistory tokens, KV MB, restore ms,"
                + " recompute ms, restore/recompute%n", model, bytesPerToken);
        run(base, 32, GlmOptions.KvPersistence.ALWAYS); // warm-up: JIT, the model's page cache
        for (String l : lengths) {
            int words = Integer.parseInt(l.strip());
            double[] restore = run(base, words, GlmOptions.KvPersistence.ALWAYS);
            double[] recompute = run(base, words, GlmOptions.KvPersistence.NEVER);
            System.out.printf("%6d  %7.1f  %9.1f  %9.1f  %5.2f%n", (int) restore[1], restore[1] * bytesPerToken / 1e6,
                    restore[0], recompute[0], restore[0] / recompute[0]);
        }
    }

    /**
     * Milliseconds of the second turn after a restore from a RocksDB checkpoint taken after the first, and
     * the tokens of history the first turn left.
     */
    private static double[] run(Configuration base, int historyWords, GlmOptions.KvPersistence persistence) throws Exception {
        Configuration config = new Configuration(base);
        config.set(GlmOptions.KV_PERSISTENCE, persistence);
        Path checkpoints = Files.createTempDirectory("kv-bench");
        OperatorSubtaskState snapshot;
        int history;
        try (var first = harness(config, checkpoints)) {
            first.open();
            answer(first, prompt("t1", "history " + "word ".repeat(historyWords), 1));
            snapshot = first.snapshot(1, 1);
            history = last(first).promptTokens() + last(first).completionTokens();
        }
        try (var restored = harness(config, checkpoints)) {
            restored.initializeState(snapshot);
            restored.open();
            long start = System.nanoTime();
            answer(restored, prompt("t2", "and now?", 1));
            return new double[] {(System.nanoTime() - start) / 1e6, history};
        }
    }

    @SuppressWarnings("unchecked")
    private static Completion last(KeyedOneInputStreamOperatorTestHarness<String, ChatInput, Sourced<Completion>> h) {
        Completion last = null;
        for (Object o : h.getOutput()) {
            if (o instanceof StreamRecord<?> r) {
                last = ((Sourced<Completion>) r.getValue()).value();
            }
        }
        return last;
    }

    private static ChatInput prompt(String id, String text, int maxTokens) {
        return ChatInput.of(new Prompt(id, "bench", null, text, null, null,
                new SamplingOverrides(null, null, null, maxTokens, null), null, Task.CHAT));
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, ChatInput, Sourced<Completion>> harness(
            Configuration config, Path checkpoints) throws Exception {
        var h = new KeyedOneInputStreamOperatorTestHarness<String, ChatInput, Sourced<Completion>>(
                new GlmChatOperatorFactory(config), ChatInput::conversationId, Types.STRING);
        h.setStateBackend(new EmbeddedRocksDBStateBackend(true));
        h.setCheckpointStorage(new FileSystemCheckpointStorage(checkpoints.toUri()));
        return h;
    }

    private static void answer(KeyedOneInputStreamOperatorTestHarness<String, ChatInput, Sourced<Completion>> h,
                               ChatInput input) throws Exception {
        long before = h.getOutput().stream().filter(o -> o instanceof StreamRecord<?>).count();
        h.processElement(input, 0);
        while (h.getOutput().stream().filter(o -> o instanceof StreamRecord<?>).count() == before
                && (h.getSideOutput(GlmOutputs.ERRORS) == null || h.getSideOutput(GlmOutputs.ERRORS).isEmpty())) {
            h.getTaskMailbox().take(TaskMailbox.MIN_PRIORITY).run();
        }
        if (h.getSideOutput(GlmOutputs.ERRORS) != null && !h.getSideOutput(GlmOutputs.ERRORS).isEmpty()) {
            throw new IllegalStateException("turn failed: " + h.getSideOutput(GlmOutputs.ERRORS));
        }
    }
}
