package io.flinkglm.operator;

import io.flinkglm.connectors.records.Completion;
import io.flinkglm.connectors.records.DeadLetter;
import io.flinkglm.connectors.records.FunctionCall;
import io.flinkglm.connectors.records.SafetyVerdict;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/**
 * The entry point: GLM-4 chat on a stream of conversation inputs keyed by conversation id.
 *
 * <pre>{@code
 * Configuration conf = new Configuration();
 * conf.set(GlmOptions.MODEL_PATH, "/models/glm-4-9b-chat-hf");
 * GlmStreams.Chat chat = GlmStreams.chat(inputs.keyBy(ChatInput::conversationId), conf);
 * chat.completions().sinkTo(completionSink);
 * chat.functionCalls().sinkTo(callSink);
 * chat.errors().sinkTo(deadLetterSink);
 * }</pre>
 */
public final class GlmStreams {
    private GlmStreams() {}

    /** The outputs of a chat operator. */
    public record Chat(SingleOutputStreamOperator<Completion> completions) {
        public DataStream<FunctionCall> functionCalls() {
            return completions.getSideOutput(GlmOutputs.FUNCTION_CALLS);
        }

        public DataStream<SafetyVerdict> safety() {
            return completions.getSideOutput(GlmOutputs.SAFETY);
        }

        public DataStream<DeadLetter> errors() {
            return completions.getSideOutput(GlmOutputs.ERRORS);
        }
    }

    public static Chat chat(KeyedStream<ChatInput, String> inputs, Configuration config) {
        SingleOutputStreamOperator<Completion> out = inputs.transform("glm-chat",
                TypeInformation.of(Completion.class), new GlmChatOperatorFactory(config));
        return new Chat(out.uid("glm-chat"));
    }
}
