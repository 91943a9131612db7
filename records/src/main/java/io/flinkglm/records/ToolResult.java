package io.flinkglm.records;

import java.util.ArrayList;
import java.util.List;
import org.apache.flink.annotation.PublicEvolving;

/**
 * The answer of a tool the model called, sent back by the application to continue the conversation.
 *
 * <pre>{@code
 * new ToolResult("conv-7", "call-1", "{\"temperature_c\": 18}")
 * }</pre>
 *
 * @param callId the {@link FunctionCall#callId()} this result answers
 */
@PublicEvolving
public record ToolResult(String conversationId, String callId, String content) implements WireRecord {

    @Override
    public String kafkaKey() {
        return conversationId;
    }

    @Override
    public List<String> violations() {
        List<String> broken = new ArrayList<>();
        WireRecord.requirePresent(broken, "conversation_id", conversationId);
        WireRecord.requirePresent(broken, "call_id", callId);
        return broken;
    }
}
