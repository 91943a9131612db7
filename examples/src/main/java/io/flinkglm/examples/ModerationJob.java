package io.flinkglm.examples;

import io.flinkglm.records.Completion;
import io.flinkglm.records.FunctionCall;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SafetyVerdict;
import io.flinkglm.operator.ChatInput;
import io.flinkglm.operator.GlmOptions;
import io.flinkglm.operator.GlmStreams;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;

/**
 * Real-time content moderation: every prompt is classified by GLM-4 in one prefill (no generation)
 * and its {@link SafetyVerdict} goes to the safety-verdicts topic. Prompts that pass are answered as
 * chat turns; a flagged prompt never reaches generation (it is refused with a {@code content_filter}
 * completion, or dropped with {@code --glm.moderation.flagged-prompts DROP}). With
 * {@code --glm.moderation.mode BOTH} the answers are classified too; prompts whose task is
 * {@code moderate} get their verdict only.
 *
 * <pre>{@code
 * flink run -c io.flinkglm.examples.ModerationJob flink-glm-examples.jar \
 *     --glm.model.path /models/glm-4-9b-chat-hf --glm.kafka.bootstrap-servers kafka:9092 \
 *     --glm.moderation.policy /etc/glm/forum-policy.json
 * }</pre>
 */
@PublicEvolving
public final class ModerationJob {
    private ModerationJob() {}

    public static void main(String[] args) throws Exception {
        GlmKafkaPipeline.runMain(args, "glm moderation", ModerationJob::define);
    }

    /** Adds the job's operators to {@code pipeline}; prompts are checked unless the mode says otherwise. */
    public static void define(GlmKafkaPipeline pipeline) {
        if (!pipeline.config().contains(GlmOptions.MODERATION)) {
            pipeline.config().set(GlmOptions.MODERATION, GlmOptions.ModerationMode.PROMPTS);
        }
        GlmStreams.Chat chat = pipeline.chat(pipeline.read(Prompt.class)
                .map(ChatInput::ofPrompt, TypeInformation.of(ChatInput.class)).name("prompt")
                .keyBy(ChatInput::conversationId, Types.STRING));
        pipeline.write(chat.safety(), SafetyVerdict.class);
        pipeline.write(chat.completions(), Completion.class);
        pipeline.write(chat.functionCalls(), FunctionCall.class);
    }
}
