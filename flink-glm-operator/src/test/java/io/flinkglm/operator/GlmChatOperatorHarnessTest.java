package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Origin;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SamplingOverrides;
import io.flinkglm.records.Sourced;
import io.flinkglm.records.Task;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The chat operator in Flink's operator test harness: real tiny model, real engine, real keyed state. */
class GlmChatOperatorHarnessTest {
    private static Configuration config;

    @BeforeAll
    static void model(@TempDir Path dir) {
        config = TinyGlm.write(dir, 7);
    }

    @Test
    void aSnapshotWithTurnsInFlightRestoresToTheSameOutputs() throws Exception {
        List<ChatInput> inputs = TinyGlm.conversations("snap", 4, 3);
        Map<String, String> uninterrupted;
        try (var harness = harness()) {
            harness.open();
            for (ChatInput in : inputs) {
                harness.processElement(in, 0);
            }
            harness.endInput();
            uninterrupted = texts(harness);
        }

        Map<String, String> beforeSnapshot;
        OperatorSubtaskState snapshot;
        try (var first = harness()) {
            first.open();
            for (ChatInput in : inputs) {
                first.processElement(in, 0);
            }
            snapshot = first.snapshot(1L, 1L); // every turn not yet answered is in state, some in the engine
            beforeSnapshot = texts(first);
        }
        Map<String, String> afterRestore;
        try (var restored = harness()) {
            restored.initializeState(snapshot);
            restored.open();
            restored.endInput();
            afterRestore = texts(restored);
        }

        assertThat(beforeSnapshot.size()).as("turns answered before the snapshot").isLessThan(inputs.size());
        assertThat(afterRestore.keySet()).as("nothing is answered twice").noneMatch(beforeSnapshot::containsKey);
        Map<String, String> combined = new TreeMap<>(beforeSnapshot);
        combined.putAll(afterRestore);
        assertThat(combined).isEqualTo(uninterrupted).hasSize(inputs.size());
    }

    @Test
    void aPoisonRecordIsOneDeadLetterWithItsOriginAndItsNeighboursAreAnswered() throws Exception {
        byte[] bytes = "{\"request_id\":\"p\",\"sampling\":{\"max_tokens\":-5}}".getBytes(StandardCharsets.UTF_8);
        Origin origin = new Origin("glm.prompts", 2, 41L, bytes);
        ChatInput poison = ChatInput.ofPrompt(new Sourced<>(new Prompt("p", "c", null, "hi", null, null,
                new SamplingOverrides(null, null, null, -5, null), null, Task.CHAT), origin));
        ChatInput after = ChatInput.of(TinyGlm.prompt("ok", "c", "hello"));
        try (var harness = harness()) {
            harness.open();
            harness.processElement(poison, 0);
            harness.processElement(after, 0);
            harness.endInput();

            List<DeadLetter> letters = new ArrayList<>();
            harness.getSideOutput(GlmOutputs.ERRORS).forEach(r -> letters.add(r.getValue()));
            assertThat(letters).singleElement().satisfies(d -> {
                assertThat(d.origin()).isEqualTo(origin);
                assertThat(d.stage()).isEqualTo(DeadLetter.Stage.PLAN);
                assertThat(d.reason()).contains("sampling.max_tokens");
            });
            assertThat(texts(harness)).containsOnlyKeys("ok");
        }
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, ChatInput, Sourced<Completion>> harness() throws Exception {
        return new KeyedOneInputStreamOperatorTestHarness<>(new GlmChatOperatorFactory(config),
                ChatInput::conversationId, Types.STRING);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> texts(KeyedOneInputStreamOperatorTestHarness<String, ChatInput, Sourced<Completion>> h) {
        Map<String, String> texts = new TreeMap<>();
        for (Object o : h.getOutput()) {
            if (o instanceof StreamRecord<?> r) {
                Completion c = ((Sourced<Completion>) r.getValue()).value();
                texts.put(c.requestId(), c.text());
            }
        }
        return texts;
    }
}
