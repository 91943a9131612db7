package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Sourced;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TenantSchedulingTest {

    @Test
    void weightsParseAsTenantColonWeightPairs() {
        assertThat(TenantScheduling.weights("acme:3, beta:1.5")).containsExactly(Map.entry("acme", 3.0), Map.entry("beta", 1.5));
        assertThat(TenantScheduling.weights("  ")).isEmpty();
    }

    @Test
    void aBrokenWeightNamesThePairAndTheFix() {
        assertThatThrownBy(() -> TenantScheduling.weights("acme:3,beta:0"))
                .hasMessageContaining("'beta:0'").hasMessageContaining("e.g. acme:3,beta:1");
        assertThatThrownBy(() -> TenantScheduling.weights("acme")).hasMessageContaining("'acme'");
        assertThatThrownBy(() -> TenantScheduling.weights("acme:1,acme:2")).hasMessageContaining("twice");
    }

    @Test
    void aJobDefaultPriorityOutsideTheRangeFailsAtStart() {
        Configuration c = new Configuration();
        c.set(GlmOptions.GENERATION_PRIORITY, 5000);

        assertThatThrownBy(() -> TenantScheduling.defaultPriority(c)).hasMessageContaining("glm.generation.priority is 5000");
    }

    @Test
    void aPromptPriorityOutsideTheRangeIsADeadLetterAndItsNeighboursAreAnsweredAsWithout(@TempDir Path dir)
            throws Exception {
        Configuration config = TinyGlm.write(dir, 7);
        config.set(GlmOptions.TENANTS_WEIGHTS, "acme:3");
        Prompt plain = new Prompt("a", "c1", "acme", "hello there", null, null, null, null, io.flinkglm.records.Task.CHAT);
        Map<String, String> withoutPriority = run(config, List.of(ChatInput.of(plain)), new ArrayList<>());

        List<DeadLetter> letters = new ArrayList<>();
        Map<String, String> withPriority = run(config, List.of(
                ChatInput.of(TinyGlm.prompt("bad", "c2", "hi").withPriority(5000)),
                ChatInput.of(plain.withPriority(-3))), letters);

        assertThat(letters).singleElement().satisfies(d -> {
            assertThat(d.stage()).isEqualTo(DeadLetter.Stage.PLAN);
            assertThat(d.reason()).startsWith("invalid_priority: priority 5000 is outside -1000..1000");
        });
        assertThat(withPriority).isEqualTo(withoutPriority).containsOnlyKeys("a");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, String> run(Configuration config, List<ChatInput> inputs, List<DeadLetter> letters)
            throws Exception {
        Map<String, String> texts = new TreeMap<>();
        try (var harness = new KeyedOneInputStreamOperatorTestHarness<String, ChatInput, Sourced<Completion>>(
                new GlmChatOperatorFactory(config), ChatInput::conversationId, Types.STRING)) {
            harness.open();
            for (ChatInput in : inputs) {
                harness.processElement(in, 0);
            }
            harness.endInput();
            for (Object o : harness.getOutput()) {
                if (o instanceof StreamRecord<?> r) {
                    Completion c = ((Sourced<Completion>) r.getValue()).value();
                    texts.put(c.requestId(), c.text());
                }
            }
            if (harness.getSideOutput(GlmOutputs.ERRORS) != null) { // null: nothing was sent there
                harness.getSideOutput(GlmOutputs.ERRORS).forEach(r -> letters.add(r.getValue()));
            }
        }
        return texts;
    }
}
