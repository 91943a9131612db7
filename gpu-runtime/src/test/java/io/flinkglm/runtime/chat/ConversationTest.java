package io.flinkglm.runtime.chat;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Reading conversations from the JSON that clients send. */
class ConversationTest {

    @Test
    void readsAnArrayOfMessages() {
        List<ChatMessage> messages = Conversation.fromJson(
                "[{\"role\": \"system\", \"content\": \"Be brief\"}, {\"role\": \"user\", \"content\": \"你好\"}]").messages();

        assertThat(messages).containsExactly(ChatMessage.system("Be brief"), ChatMessage.user("你好"));
    }

    @Test
    void topLevelToolsGoIntoALeadingSystemMessage() {
        List<ChatMessage> messages = Conversation.fromJson("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],"
                + " \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"}}]}").messages();

        assertThat(messages).hasSize(2);
        assertThat(messages.get(0).role()).isEqualTo(ChatRole.SYSTEM);
        assertThat(messages.get(0).content()).isNull();
        assertThat(messages.get(0).tools()).singleElement()
                .satisfies(t -> assertThat(t.path("function").path("name").asText()).isEqualTo("get_weather"));
        assertThat(ChatTemplate.render(messages, true)).contains("## get_weather\n\n{\n    \"name\": \"get_weather\"\n}")
                .endsWith("<|user|>\nhi<|assistant|>");
    }

    @Test
    void emptyTopLevelToolListAddsNothing() {
        List<ChatMessage> messages = Conversation.fromJson("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],"
                + " \"tools\": []}").messages();

        assertThat(messages).containsExactly(ChatMessage.user("hi"));
    }

    @Test
    void openAiToolRoleIsAnObservation() {
        List<ChatMessage> messages = Conversation.fromJson(
                "[{\"role\": \"tool\", \"tool_call_id\": \"1\", \"content\": \"25\"}]").messages();

        assertThat(messages).containsExactly(ChatMessage.observation("25"));
    }

    @Test
    void openAiToolCallsBecomeGlmFunctionCallMessages() {
        List<ChatMessage> messages = Conversation.fromJson("[{\"role\": \"assistant\", \"content\": null, \"tool_calls\": ["
                + "{\"id\": \"c1\", \"type\": \"function\", \"function\": {\"name\": \"get_weather\","
                + " \"arguments\": \"{\\\"location\\\": \\\"Beijing\\\"}\"}}]}]").messages();

        assertThat(messages).containsExactly(ChatMessage.functionCall("get_weather", "{\"location\": \"Beijing\"}"));
    }

    @Test
    void metadataIsKept() {
        List<ChatMessage> messages = Conversation.fromJson(
                "[{\"role\": \"assistant\", \"metadata\": \"get_weather\", \"content\": \"{}\"}]").messages();

        assertThat(messages).containsExactly(ChatMessage.functionCall("get_weather", "{}"));
    }

    @Test
    void unknownRoleIsRejectedNamingTheMessage() {
        assertThatThrownBy(() -> Conversation.fromJson("[{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"bot\", \"content\": \"b\"}]"))
                .isInstanceOf(ChatFormatException.class)
                .hasMessageContaining("message 1").hasMessageContaining("unknown role 'bot'");
    }

    @Test
    void functionToolWithoutNameIsRejected() {
        assertThatThrownBy(() -> Conversation.fromJson("{\"messages\": [], \"tools\": [{\"type\": \"function\", \"function\": {}}]}"))
                .isInstanceOf(ChatFormatException.class).hasMessageContaining("function tool without a name");
        assertThatThrownBy(() -> Conversation.fromJson("[{\"role\": \"system\", \"tools\": [{\"type\": \"function\"}]}]"))
                .isInstanceOf(ChatFormatException.class).hasMessageContaining("message 0").hasMessageContaining("without a name");
    }

    @Test
    void nonTextContentIsRejected() {
        assertThatThrownBy(() -> Conversation.fromJson("[{\"role\": \"user\", \"content\": [{\"type\": \"text\"}]}]"))
                .isInstanceOf(ChatFormatException.class).hasMessageContaining("\"content\" must be a string");
    }

    @Test
    void malformedJsonIsAChatFormatError() {
        assertThatThrownBy(() -> Conversation.fromJson("[{\"role\": "))
                .isInstanceOf(ChatFormatException.class).hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> Conversation.fromJson("{\"msgs\": []}"))
                .isInstanceOf(ChatFormatException.class).hasMessageContaining("\"messages\" array");
    }
}
