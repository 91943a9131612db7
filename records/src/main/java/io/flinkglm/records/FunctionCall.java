package io.flinkglm.records;

import org.apache.flink.annotation.PublicEvolving;

/**
 * A tool call the model asked for; the application runs it and answers with a {@link ToolResult}.
 *
 * <pre>{@code
 * new FunctionCall("req-1", "conv-7", "call-1", "get_weather", "{\"city\": \"Paris\"}")
 * }</pre>
 *
 * @param argumentsJson the arguments as a JSON object string, as the model wrote them
 */
@PublicEvolving
public record FunctionCall(String requestId, String conversationId, String callId, String name, String argumentsJson)
        implements WireRecord {

    @Override
    public String kafkaKey() {
        return conversationId;
    }
}
