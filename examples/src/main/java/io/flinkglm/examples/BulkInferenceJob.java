package io.flinkglm.examples;

import io.flinkglm.records.Completion;
import io.flinkglm.records.FunctionCall;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.Sourced;
import io.flinkglm.records.SafetyVerdict;
import io.flinkglm.operator.ChatInput;
import io.flinkglm.operator.GlmOptions;
import io.flinkglm.operator.GlmStreams;
import java.time.Duration;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.datastream.DataStream;

/**
 * Bulk inference: every prompt is answered on its own (task {@code complete} or {@code chat}), with no
 * memory of earlier prompts of its conversation, so prompts spread over all subtasks by request id and
 * batch freely on the engine. Answers go to the completions topic (function calls, when a prompt offers
 * tools, to the function-calls topic; safety verdicts, when {@code glm.moderation} is on, to the
 * safety-verdicts topic); undecodable records and failed requests to the dead-letter topic.
 *
 * <pre>{@code
 * flink run -c io.flinkglm.examples.BulkInferenceJob flink-glm-examples.jar \
 *     --glm.model.path /models/glm-4-9b-chat-hf --glm.kafka.bootstrap-servers kafka:9092 --glm.capacity 64
 * }</pre>
 */
@PublicEvolving
public final class BulkInferenceJob {

    /**
     * How long the operator keeps a finished request's state unless {@code glm.state.ttl} says otherwise:
     * nothing reads it again, and without a TTL a bulk job's state would grow by one entry per prompt.
     */
    static final Duration DEFAULT_STATE_TTL = Duration.ofMinutes(10);

    private BulkInferenceJob() {}

    public static void main(String[] args) throws Exception {
        GlmKafkaPipeline.runMain(args, "glm bulk inference", BulkInferenceJob::define);
    }

    /** Adds the job's operators to {@code pipeline}. */
    public static void define(GlmKafkaPipeline pipeline) {
        if (pipeline.config().getOptional(GlmOptions.STATE_TTL).isEmpty()) {
            pipeline.config().set(GlmOptions.STATE_TTL, DEFAULT_STATE_TTL);
        }
        DataStream<ChatInput> inputs = pipeline.read(Prompt.class)
                .map(RequestKey::ownConversation, TypeInformation.of(ChatInput.class)).name("one conversation per prompt");
        GlmStreams.Chat chat = pipeline.chat(inputs.keyBy(ChatInput::conversationId, Types.STRING));
        pipeline.write(chat.completions().map(RequestKey::restore, TypeInformation.of(Completion.class))
                .name("restore conversation id"), Completion.class);
        pipeline.write(chat.functionCalls().map(RequestKey::restore, TypeInformation.of(FunctionCall.class))
                .name("restore conversation id"), FunctionCall.class);
        pipeline.write(chat.safety().map(RequestKey::restore, TypeInformation.of(SafetyVerdict.class))
                .name("restore conversation id"), SafetyVerdict.class);
    }

    /**
     * Each prompt its own conversation. The operator keys by conversation id and stamps it on what it emits,
     * so the prompt travels with a conversation id that carries both ids, the length-prefixed request id
     * first ({@code "5:req-7conv-1"}), and the real one is restored on the way out. Length-prefixed rather
     * than separated, so no id can contain the separator.
     */
    static final class RequestKey {
        private RequestKey() {}

        static ChatInput ownConversation(Sourced<Prompt> read) {
            Prompt p = read.value();
            String key = p.requestId().length() + ":" + p.requestId() + p.conversationId();
            return ChatInput.ofPrompt(new Sourced<>(new Prompt(p.requestId(), key, p.tenant(), p.text(), p.messages(),
                    p.tools(), p.sampling(), p.toolChoice(), p.task()), read.origin()));
        }

        static String conversationId(String key) {
            int colon = key.indexOf(':');
            return key.substring(colon + 1 + Integer.parseInt(key.substring(0, colon)));
        }

        static Completion restore(Completion c) {
            return c.withConversationId(conversationId(c.conversationId()));
        }

        static FunctionCall restore(FunctionCall f) {
            return new FunctionCall(f.requestId(), conversationId(f.conversationId()), f.callId(), f.name(),
                    f.argumentsJson());
        }

        static SafetyVerdict restore(SafetyVerdict v) {
            return new SafetyVerdict(v.requestId(), conversationId(v.conversationId()), v.checked(), v.scores(),
                    v.flaggedCategories(), v.flagged(), v.openaiCategoryScores());
        }
    }
}
