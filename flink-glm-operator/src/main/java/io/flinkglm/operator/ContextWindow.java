package io.flinkglm.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkglm.runtime.chat.ChatMessage;
import io.flinkglm.runtime.chat.ChatRole;
import io.flinkglm.runtime.chat.ChatTemplate;
import io.flinkglm.runtime.chat.Conversation;
import io.flinkglm.runtime.chat.ToolChoice;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.flink.annotation.Internal;

/**
 * Fits a conversation that outgrew its window ({@link GlmOptions#CONTEXT_OVERFLOW}). Pure and
 * deterministic: the same history and turn always give the same cut and the same tokens, so a replay
 * after a failure, alone or batched, answers identically.
 *
 * <p>The history is the conversation's messages as kept in state: its leading system messages (with the
 * tools, which are kept in state apart), then turns, each starting at a user message and holding
 * everything that answers it (assistant replies, function calls, observations). A cut drops whole turns,
 * oldest first, and re-renders what is kept with the chat template: from then on the context is that
 * rendering, no longer the model's own tokens of the dropped past.
 */
@Internal
final class ContextWindow {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * How a turn's history was cut: how many of its oldest turns were left out, whether the conversation
     * started over, and the history kept (a JSON array of messages) when it changed.
     */
    record Cut(int turnsDropped, boolean reset, String keptHistoryJson) {
        static final Cut NONE = new Cut(0, false, null);

        boolean changed() {
            return keptHistoryJson != null;
        }
    }

    /** The fitted prompt and how it was cut; or, with {@code tokens} null, why it cannot fit. */
    record Fit(int[] tokens, Cut cut, String failure) {}

    private final Glm4Tokenizer tokenizer;

    ContextWindow(Glm4Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /**
     * The prompt of a turn adding {@code newMessages} to {@code state}'s history, within {@code limit} tokens.
     *
     * @param continuesLastTurn the new messages continue the history's last turn (a tool result): that turn is
     *                          part of the new one and cannot be dropped
     */
    Fit fit(ConversationState state, List<ChatMessage> newMessages, ToolChoice choice, boolean continuesLastTurn,
            GlmOptions.ContextOverflow policy, int limit) {
        List<ChatMessage> history = history(state);
        int firstTurn = 0;
        while (firstTurn < history.size() && history.get(firstTurn).role() == ChatRole.SYSTEM) {
            firstTurn++;
        }
        List<ChatMessage> system = history.subList(0, firstTurn);
        List<List<ChatMessage>> turns = turns(history.subList(firstTurn, history.size()));
        int keepAtLeast = continuesLastTurn && !turns.isEmpty() ? 1 : 0;
        switch (policy) {
            case REJECT:
                return new Fit(null, null, "the conversation's prompt would be longer than its window of " + limit
                        + " tokens (glm.conversation.overflow REJECT)");
            case RESET: {
                List<List<ChatMessage>> kept = turns.subList(turns.size() - keepAtLeast, turns.size());
                int[] tokens = render(system, kept, newMessages, choice);
                return tokens.length <= limit
                        ? new Fit(tokens, new Cut(0, true, json(system, kept)), null)
                        : new Fit(null, null, tooLarge(tokens.length, limit));
            }
            default: {
                for (int dropped = 1; turns.size() - dropped >= keepAtLeast; dropped++) {
                    List<List<ChatMessage>> kept = turns.subList(dropped, turns.size());
                    int[] tokens = render(system, kept, newMessages, choice);
                    if (tokens.length <= limit) {
                        return new Fit(tokens, new Cut(dropped, false, json(system, kept)), null);
                    }
                }
                int[] alone = render(system, turns.subList(turns.size() - keepAtLeast, turns.size()), newMessages, choice);
                return new Fit(null, null, tooLarge(alone.length, limit));
            }
        }
    }

    private static String tooLarge(int tokens, int limit) {
        return "the turn alone, with the system messages, is " + tokens + " tokens, more than the conversation's"
                + " window of " + limit + " (glm.conversation.max-context-tokens)";
    }

    /** The history as kept in state, tools attached to the system message that carried them in the first turn. */
    private static List<ChatMessage> history(ConversationState state) {
        List<ChatMessage> history = new ArrayList<>(Conversation.fromJson(state.messagesJson).messages());
        if (state.toolsJson != null) {
            List<JsonNode> tools = new ArrayList<>();
            try {
                JSON.readTree(state.toolsJson).forEach(tools::add);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException("tools in state are not JSON: " + e.getOriginalMessage(), e);
            }
            int holder = -1;
            for (int i = 0; i < history.size() && history.get(i).role() == ChatRole.SYSTEM; i++) {
                if (history.get(i).content() == null) {
                    holder = i;
                    break;
                }
            }
            if (holder >= 0) {
                history.set(holder, history.get(holder).withTools(tools));
            } else {
                history.add(0, ChatMessage.system(null).withTools(tools));
            }
        }
        return history;
    }

    /** Splits messages after the system prefix into turns, each starting at a user message. */
    private static List<List<ChatMessage>> turns(List<ChatMessage> messages) {
        List<List<ChatMessage>> turns = new ArrayList<>();
        for (ChatMessage m : messages) {
            if (m.role() == ChatRole.USER || turns.isEmpty()) {
                turns.add(new ArrayList<>());
            }
            turns.get(turns.size() - 1).add(m);
        }
        return turns;
    }

    private int[] render(List<ChatMessage> system, List<List<ChatMessage>> turns, List<ChatMessage> newMessages,
                         ToolChoice choice) {
        List<ChatMessage> all = new ArrayList<>(system);
        turns.forEach(all::addAll);
        all.addAll(newMessages);
        int[] rendered = ChatTemplate.encode(tokenizer, choice.applyTo(all), true);
        int[] forced = choice.forcedPrefix(tokenizer);
        int[] tokens = Arrays.copyOf(rendered, rendered.length + forced.length);
        System.arraycopy(forced, 0, tokens, rendered.length, forced.length);
        return tokens;
    }

    /** The kept history in state's JSON shape (tools stay apart, in {@code toolsJson}). */
    private static String json(List<ChatMessage> system, List<List<ChatMessage>> turns) {
        List<ChatMessage> kept = new ArrayList<>();
        for (ChatMessage m : system) {
            kept.add(m.tools() != null ? m.withTools(null) : m);
        }
        turns.forEach(kept::addAll);
        return ConversationCore.appendMessages("[]", kept);
    }
}
