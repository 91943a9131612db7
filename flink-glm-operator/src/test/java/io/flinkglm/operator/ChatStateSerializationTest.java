package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.records.ChatMessage;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SamplingOverrides;
import io.flinkglm.records.Task;
import io.flinkglm.records.ToolResult;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

/**
 * What the operator keeps in keyed state and receives over the network survives Flink's
 * serializers, including a prompt's immutable {@code List.of}/{@code Map.of} fields.
 */
class ChatStateSerializationTest {

    @Test
    void aPromptWithImmutableMessagesAndMetadataRoundTrips() throws Exception {
        ChatInput input = ChatInput.of(new Prompt("r1", "c1", "acme", null,
                List.of(new ChatMessage("system", "Be brief.", null),
                        new ChatMessage("user", "Wetter in Paris? 天气", Map.of("lang", "de"))),
                "[{\"type\":\"function\"}]", new SamplingOverrides(0.2, 0.9, 40, 16, 42L), "auto", Task.CHAT));

        assertThat(roundTrip(ChatInput.class, input)).isEqualTo(input);
    }

    @Test
    void aToolResultRoundTrips() throws Exception {
        ChatInput input = ChatInput.of(new ToolResult("c1", "call-1", "{\"temperature_c\":18}"));

        assertThat(roundTrip(ChatInput.class, input)).isEqualTo(input);
    }

    @Test
    void conversationStateIsAPojoAndRoundTrips() throws Exception {
        ConversationState state = new ConversationState();
        state.tokens = new int[] {1, 2, 3};
        state.messagesJson = "[{\"role\":\"user\",\"content\":\"hi\"}]";
        state.toolsJson = "[]";
        state.pendingCallId = "r1-call-1";
        state.pendingRequestId = "r1";
        state.generations = 1;

        assertThat(TypeInformation.of(ConversationState.class)).isInstanceOf(PojoTypeInfo.class);
        ConversationState copy = roundTrip(ConversationState.class, state);
        assertThat(copy).isEqualTo(state);
        assertThat(copy.toolsJson).isEqualTo("[]");
        assertThat(copy.pendingRequestId).isEqualTo("r1");
    }

    @Test
    void chatInputIsAPojo() {
        assertThat(TypeInformation.of(ChatInput.class)).isInstanceOf(PojoTypeInfo.class);
    }

    private static <T> T roundTrip(Class<T> type, T value) throws Exception {
        TypeSerializer<T> serializer = TypeInformation.of(type).createSerializer(new SerializerConfigImpl());
        DataOutputSerializer out = new DataOutputSerializer(256);
        serializer.serialize(value, out);
        return serializer.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
    }
}
