package io.flinkglm.operator;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.FinishReason;
import io.flinkglm.records.FunctionCall;
import io.flinkglm.runtime.chat.AssistantReply;
import io.flinkglm.runtime.chat.ChatMessage;
import io.flinkglm.runtime.chat.ToolCallValidator;
import io.flinkglm.runtime.chat.ValidatedToolCall;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.KvSnapshot;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.ReadableConfig;

/**
 * The conversation logic, pure: input + state → {@link TurnPlan}; state + generation result →
 * {@link TurnOutcome}. The operator around it only keeps state, talks to the engine and emits.
 *
 * <p>This is the one place where "a record fails only itself" is enforced: neither step throws for
 * anything about one record. A rule the record breaks is a {@link Rejection} by design; anything else
 * that goes wrong while serving it (a parser bug, an id the tokenizer cannot decode) is caught here and
 * becomes a rejection too, with the stage it happened in. Only {@link Error}s (out of memory) pass.
 *
 * <pre>{@code
 * ConversationCore core = new ConversationCore(tokenizer, eosIds, 4096, config);
 * TurnPlan plan = core.plan(state, input);            // a Turn to submit, or a Rejection
 * TurnOutcome out = core.complete(state, turn, result);
 * }</pre>
 */
@Internal
final class ConversationCore {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Glm4Tokenizer tokenizer;
    private final TurnPlanner planner;
    private final int observationId;
    private final ReadableConfig config;

    ConversationCore(Glm4Tokenizer tokenizer, List<Integer> modelEosIds, int contextTokens, ReadableConfig config) {
        this.tokenizer = tokenizer;
        this.planner = new TurnPlanner(tokenizer, modelEosIds, contextTokens, config);
        this.observationId = tokenizer.specialId("<|observation|>");
        this.config = config;
    }

    /** The next turn of {@code state} for {@code input}, or why there is none. Never throws for the record. */
    TurnPlan plan(ConversationState state, ChatInput input) {
        try {
            return planner.plan(state, input);
        } catch (RuntimeException e) {
            return new Rejection(DeadLetter.Stage.PLAN, "internal_error: " + e);
        }
    }

    /**
     * The conversation after {@code turn} produced {@code result}, and what to emit. A function call the
     * tools do not allow (unknown name, arguments that are not JSON or break the tool's schema) is a
     * rejection with the raw text, and the turn is not kept: the conversation stays as it was.
     */
    TurnOutcome complete(ConversationState state, String conversationId, Turn turn, GenerationResult result) {
        try {
            return switch (result.finishReason()) {
                case STOP, LENGTH -> reply(state, conversationId, turn, result);
                case CONTENT_FILTER -> withheld(conversationId, turn, result);
                case DEADLINE -> TurnOutcome.rejected(timedOut());
                default -> TurnOutcome.rejected(new Rejection(DeadLetter.Stage.GENERATE, "generation_failed: "
                        + result.finishReason() + (result.message() != null ? ": " + result.message() : "")));
            };
        } catch (RuntimeException e) {
            return TurnOutcome.rejected(new Rejection(DeadLetter.Stage.REPLY, "internal_error: " + e));
        }
    }

    /** Why a turn past {@link GlmOptions#REQUEST_TIMEOUT} was given up. */
    Rejection timedOut() {
        return new Rejection(DeadLetter.Stage.GENERATE, "timeout: the turn took longer than "
                + config.get(GlmOptions.REQUEST_TIMEOUT) + " (" + GlmOptions.REQUEST_TIMEOUT.key() + ")");
    }

    private TurnOutcome reply(ConversationState before, String conversationId, Turn turn, GenerationResult result) {
        int[] out = result.outputTokens();
        String text = tokenizer.decode(out);
        // A raw completion is text whatever stopped it; a chat turn may be a function call.
        AssistantReply reply = turn.remember()
                ? turn.toolChoice().parseReply(text, result.stopTokenId() == observationId)
                : new AssistantReply.Text(text);
        String arguments = null;
        if (reply instanceof AssistantReply.FunctionCall fc) {
            String tools = turn.toolsJson() != null ? turn.toolsJson() : before.toolsJson;
            ValidatedToolCall call = ToolCallValidator.fromJson(tools == null ? "[]" : tools).validate(fc, turn.toolChoice());
            if (call instanceof ValidatedToolCall.Invalid invalid) {
                return TurnOutcome.rejected(new Rejection(DeadLetter.Stage.FUNCTION_CALL, "invalid_function_call: "
                        + invalid.reason() + ": " + invalid.message() + "; raw text: " + fc.name() + "\n" + fc.rawArguments()));
            }
            arguments = call instanceof ValidatedToolCall.Function f ? writeJson(f.arguments())
                    : ((ValidatedToolCall.BuiltIn) call).rawArguments();
        }
        ConversationState after = null;
        if (turn.remember()) {
            after = before.copy();
            after.tokens = concat(turn.promptTokens(), out, result.stopTokenId());
            after.generations++;
            if (turn.toolsJson() != null) {
                after.toolsJson = turn.toolsJson();
            }
            List<ChatMessage> added = new ArrayList<>(turn.newMessages());
            if (reply instanceof AssistantReply.FunctionCall fc) {
                added.add(fc.toMessage());
                after.pendingCallId = turn.requestId() + "-call-" + after.generations;
                after.pendingRequestId = turn.requestId();
            } else {
                added.add(ChatMessage.assistant(((AssistantReply.Text) reply).text()));
                after.pendingCallId = null;
                after.pendingRequestId = null;
            }
            // A cut context keeps only part of the history; the kept part is what the prompt rendered.
            String history = turn.context().changed() ? turn.context().keptHistoryJson() : after.messagesJson;
            after.messagesJson = appendMessages(history, added);
        }
        KvSnapshot kv = turn.remember() ? result.kvSnapshot() : null;
        if (reply instanceof AssistantReply.FunctionCall fc) {
            FunctionCall call = new FunctionCall(turn.requestId(), conversationId,
                    after != null ? after.pendingCallId : null, fc.name(), arguments);
            return new TurnOutcome(after, kv, null, call, null);
        }
        GenerationResult.Timings t = result.timings();
        Completion completion = Completion.builder(turn.requestId(), conversationId)
                .text(((AssistantReply.Text) reply).text(),
                        result.finishReason() == GenerationResult.FinishReason.STOP ? FinishReason.STOP : FinishReason.LENGTH)
                .usage(result.promptTokens(), out.length)
                .timings(millis(t.queueNanos()), millis(t.firstTokenNanos()), millis(t.totalNanos()))
                .context(turn.context().turnsDropped(), turn.context().reset())
                .build();
        return new TurnOutcome(after, kv, completion, null, null);
    }

    /**
     * A turn that moderation stopped while it was generated: a completion without text, and the conversation
     * stays as it was (the withheld reply is not history the next turn builds on).
     */
    private static TurnOutcome withheld(String conversationId, Turn turn, GenerationResult result) {
        GenerationResult.Timings t = result.timings();
        Completion completion = Completion.builder(turn.requestId(), conversationId)
                .refused()
                .usage(result.promptTokens(), result.outputTokens().length)
                .timings(millis(t.queueNanos()), millis(t.firstTokenNanos()), millis(t.totalNanos()))
                .context(turn.context().turnsDropped(), turn.context().reset())
                .build();
        return new TurnOutcome(null, null, completion, null, null);
    }

    static String appendMessages(String json, List<ChatMessage> added) {
        try {
            ArrayNode array = (ArrayNode) JSON.readTree(json);
            for (ChatMessage m : added) {
                var node = array.addObject().put("role", m.role().wireName());
                node.put("content", m.content());
                if (m.metadata() != null) {
                    node.put("metadata", m.metadata());
                }
            }
            return JSON.writeValueAsString(array);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("conversation history in state is not a JSON array: " + e.getOriginalMessage(), e);
        }
    }

    private static String writeJson(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int[] concat(int[] prompt, int[] output, int stopToken) {
        int extra = stopToken >= 0 ? 1 : 0;
        int[] all = Arrays.copyOf(prompt, prompt.length + output.length + extra);
        System.arraycopy(output, 0, all, prompt.length, output.length);
        if (extra == 1) {
            all[all.length - 1] = stopToken;
        }
        return all;
    }

    private static long millis(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }
}
