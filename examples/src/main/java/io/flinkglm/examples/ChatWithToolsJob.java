package io.flinkglm.examples;

import io.flinkglm.records.Completion;
import io.flinkglm.records.FunctionCall;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SafetyVerdict;
import io.flinkglm.records.ToolResult;
import io.flinkglm.operator.ChatInput;
import io.flinkglm.operator.GlmStreams;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;

/**
 * Conversations with tools: prompts and tool results (two topics) meet in one stream keyed by conversation;
 * the model's answers go to the completions topic, its calls of the application's functions to the
 * function-calls topic, and the application's answers to those calls come back on the tool-results topic
 * to continue the conversation. Inputs the operator cannot turn into a turn (a tool result for a call that
 * is not pending, a prompt while a call is) go to the dead-letter topic with the reason.
 *
 * <pre>{@code
 * flink run -c io.flinkglm.examples.ChatWithToolsJob flink-glm-examples.jar \
 *     --glm.model.path /models/glm-4-9b-chat-hf --glm.kafka.bootstrap-servers kafka:9092
 * }</pre>
 */
@PublicEvolving
public final class ChatWithToolsJob {

    private static final TypeInformation<ChatInput> CHAT_INPUT = TypeInformation.of(ChatInput.class);

    private ChatWithToolsJob() {}

    public static void main(String[] args) throws Exception {
        GlmKafkaPipeline.runMain(args, "glm chat with tools", ChatWithToolsJob::define);
    }

    /** Adds the job's operators to {@code pipeline}. */
    public static void define(GlmKafkaPipeline pipeline) {
        DataStream<ChatInput> prompts = pipeline.read(Prompt.class).map(ChatInput::ofPrompt, CHAT_INPUT).name("prompt");
        DataStream<ChatInput> toolResults =
                pipeline.read(ToolResult.class).map(ChatInput::ofToolResult, CHAT_INPUT).name("tool result");
        // One conversation, one key: its turns and its tool results run in order on one subtask.
        GlmStreams.Chat chat = pipeline.chat(prompts.union(toolResults).keyBy(ChatInput::conversationId, Types.STRING));
        pipeline.write(chat.completions(), Completion.class);
        pipeline.write(chat.functionCalls(), FunctionCall.class);
        pipeline.write(chat.safety(), SafetyVerdict.class); // empty unless glm.moderation is on
    }
}
