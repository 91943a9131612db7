package io.flinkglm.records;

import java.util.ArrayList;
import java.util.List;
import org.apache.flink.annotation.PublicEvolving;

/**
 * A request for the model, read from the prompts topic. Field meanings and wire names: {@code RECORDS.md}.
 *
 * <pre>{@code
 * Prompt p = new Prompt("req-1", "conv-7", "acme", null,
 *         List.of(new ChatMessage("user", "Hello", null)), null, null, null, Task.CHAT);
 * }</pre>
 *
 * @param text the prompt as one string; exactly one of {@code text} and {@code messages} is set
 * @param tools OpenAI-style function definitions as a JSON array string, kept verbatim; nullable
 * @param toolChoice {@code auto}, {@code none} or the name of the one function to call; nullable
 * @param priority the engine's priority class, lower served sooner, from {@value #MIN_PRIORITY} to
 *     {@value #MAX_PRIORITY}; nullable: the job's {@code glm.generation.priority}. See {@code RECORDS.md}
 * @param responseFormat OpenAI-style {@code response_format} as a JSON object string, kept verbatim:
 *     {@code {"type":"json_object"}} or {@code {"type":"json_schema","json_schema":{"name":..,"schema":{..}}}};
 *     the answer is then JSON valid under it by construction. Nullable: free text
 */
@PublicEvolving
public record Prompt(
        String requestId,
        String conversationId,
        String tenant,
        String text,
        List<ChatMessage> messages,
        String tools,
        SamplingOverrides sampling,
        String toolChoice,
        Task task,
        Integer priority,
        String responseFormat)
        implements WireRecord {

    /** The priorities a prompt may ask for; outside them the prompt is a dead letter ({@code invalid_priority}). */
    public static final int MIN_PRIORITY = -1000;

    public static final int MAX_PRIORITY = 1000;

    /** A prompt with the job's default priority (the record as it was before {@code priority}). */
    public Prompt(String requestId, String conversationId, String tenant, String text, List<ChatMessage> messages,
            String tools, SamplingOverrides sampling, String toolChoice, Task task) {
        this(requestId, conversationId, tenant, text, messages, tools, sampling, toolChoice, task, null);
    }

    /** A prompt with free-text output (the record as it was before {@code response_format}). */
    public Prompt(String requestId, String conversationId, String tenant, String text, List<ChatMessage> messages,
            String tools, SamplingOverrides sampling, String toolChoice, Task task, Integer priority) {
        this(requestId, conversationId, tenant, text, messages, tools, sampling, toolChoice, task, priority, null);
    }

    /** This prompt with another priority (null: the job default). */
    public Prompt withPriority(Integer priority) {
        return new Prompt(requestId, conversationId, tenant, text, messages, tools, sampling, toolChoice, task, priority,
                responseFormat);
    }

    @Override
    public String kafkaKey() {
        return conversationId;
    }

    @Override
    public List<String> violations() {
        List<String> broken = new ArrayList<>();
        WireRecord.requirePresent(broken, "request_id", requestId);
        WireRecord.requirePresent(broken, "conversation_id", conversationId);
        WireRecord.requirePresent(broken, "task", task);
        boolean hasText = text != null;
        boolean hasMessages = messages != null && !messages.isEmpty();
        if (hasText == hasMessages) {
            broken.add(hasText ? "both text and messages are set; send one" : "text or messages is missing");
        }
        return broken;
    }
}
