package io.flinkglm.operator;

import io.flinkglm.records.SafetyVerdict;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.StreamingCheck;
import io.flinkglm.runtime.safety.SafetyClassifier;
import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.ReadableConfig;

import java.util.Optional;

/**
 * Moderation while generating ({@link GlmOptions.ModerationMode#STREAMING}) for the chat operator: the engine
 * check each turn carries, and the verdict its result gives. The engine runs the checks beside the generation
 * and stops a flagged one with CONTENT_FILTER; the core turns that into a completion without text.
 *
 * <pre>{@code
 * StreamingModeration moderation = StreamingModeration.of(config, worker);   // null unless STREAMING
 * request.streamingCheck(moderation.check(head));
 * moderation.verdict(turn.requestId(), key, result).ifPresent(emitToSafetyOutput);
 * }</pre>
 */
@Internal
final class StreamingModeration {
    private static final GlmStreams.PromptSubject PROMPT_TEXT = new GlmStreams.PromptSubject(true);

    private final SafetyClassifier classifier;
    private final int interval;

    StreamingModeration(SafetyClassifier classifier, int interval) {
        if (interval <= 0) {
            throw new IllegalArgumentException(GlmOptions.MODERATION_STREAM_INTERVAL.key() + " must be positive but is "
                    + interval);
        }
        this.classifier = classifier;
        this.interval = interval;
    }

    /** The moderation of a worker's turns under {@code config}, or null when the mode is not STREAMING. */
    static StreamingModeration of(ReadableConfig config, GlmWorker worker) {
        if (config.get(GlmOptions.MODERATION) != GlmOptions.ModerationMode.STREAMING) {
            return null;
        }
        return new StreamingModeration(new SafetyClassifier(worker.engine(), worker.tokenizer(), SafetyCheck.policy(config)),
                config.get(GlmOptions.MODERATION_STREAM_INTERVAL));
    }

    /** The check of the reply to {@code head}, judged in the context of its user text (none for a tool result). */
    StreamingCheck check(ChatInput head) {
        String prompt = PROMPT_TEXT.apply(head);
        return classifier.streamingCheck(prompt == null ? "" : prompt, interval);
    }

    /** The verdict of the check that decided a turn; empty when none did (the turn failed or was cancelled). */
    Optional<SafetyVerdict> verdict(String requestId, String conversationId, GenerationResult result) {
        if (result.classProbabilities() == null) {
            return Optional.empty();
        }
        return Optional.of(SafetyCheck.record(classifier.streamingVerdict(requestId, result), requestId, conversationId,
                SafetyVerdict.Checked.COMPLETION));
    }
}
