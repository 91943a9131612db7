package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.records.Completion;
import io.flinkglm.records.FunctionCall;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Sourced;
import io.flinkglm.records.Task;
import io.flinkglm.records.ToolResult;
import io.flinkglm.runtime.testing.ScriptedCheckpoint;
import java.nio.file.Path;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A tool result carries no tenant or priority: its turn takes those of the prompt it continues, kept in state. */
class ToolResultTenantTest {
    private static final String WEATHER = """
            [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
              "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}}]""";

    @TempDir
    static Path model;

    @BeforeAll
    static void writeScriptedModel() throws Exception {
        ScriptedCheckpoint.writeToolCaller(model, "get_weather", "{}", "OK");
    }

    @Test
    void aToolResultTurnRunsWithThePromptsTenantAndPriority() throws Exception {
        ChatInput prompt = ChatInput.of(new Prompt("r1", "c1", "acme", "Weather?", null, WEATHER, null, "get_weather",
                Task.CHAT, 7));
        ChatInput result = ChatInput.of(new ToolResult("c1", "r1-call-1", "{\"temperature\": 25}"));
        try (var harness = harness()) {
            harness.open();
            harness.processElement(prompt, 0);
            harness.endInput();
            assertThat(harness.getSideOutput(GlmOutputs.FUNCTION_CALLS)).singleElement()
                    .satisfies(r -> assertThat(((FunctionCall) r.getValue()).callId()).isEqualTo("r1-call-1"));

            ConversationState remembered = state(harness, "c1");
            assertThat(remembered.tenant).isEqualTo("acme");
            assertThat(remembered.priority).isEqualTo(7);
            assertThat(TenantScheduling.tenantOf(result, remembered)).isEqualTo("acme");
            assertThat(TenantScheduling.priorityOf(result, remembered, 0)).isEqualTo(7);
            assertThat(TenantScheduling.priorityOf(ChatInput.of(prompt.prompt.withPriority(null)), remembered, 3))
                    .as("a prompt's own priority, else the job default; never the remembered one").isEqualTo(3);

            harness.processElement(result, 0);
            harness.endInput();
            assertThat(harness.extractOutputValues()).singleElement()
                    .satisfies(c -> assertThat(c.value().text()).isEqualTo("OK"));
            assertThat(state(harness, "c1").tenant).as("the continuation keeps the tenant").isEqualTo("acme");
        }
    }

    private static ConversationState state(KeyedOneInputStreamOperatorTestHarness<String, ChatInput, Sourced<Completion>> h,
                                           String conversation) throws Exception {
        AbstractStreamOperator<?> op = (AbstractStreamOperator<?>) h.getOperator();
        op.setCurrentKey(conversation);
        ValueState<ConversationState> state = op.getKeyedStateBackend().getPartitionedState(VoidNamespace.INSTANCE,
                VoidNamespaceSerializer.INSTANCE,
                new ValueStateDescriptor<>("conversation", TypeInformation.of(ConversationState.class)));
        return state.value();
    }

    private static KeyedOneInputStreamOperatorTestHarness<String, ChatInput, Sourced<Completion>> harness() throws Exception {
        Configuration config = new Configuration();
        config.set(GlmOptions.MODEL_PATH, model.toString());
        config.set(GlmOptions.BACKEND, "cpu");
        config.set(GlmOptions.MAX_TOKENS, 8);
        return new KeyedOneInputStreamOperatorTestHarness<>(new GlmChatOperatorFactory(config),
                ChatInput::conversationId, Types.STRING);
    }
}
