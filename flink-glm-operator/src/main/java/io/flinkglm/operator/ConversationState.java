package io.flinkglm.operator;

import java.util.Arrays;
import java.util.Objects;
import org.apache.flink.annotation.PublicEvolving;

/**
 * One conversation as kept in keyed state between turns. A Flink POJO (public fields, no-arg
 * constructor) of arrays and strings only, so it needs no Kryo.
 *
 * <p>{@code tokens} is the context exactly as the model saw it: every prompt token and every
 * generated token, ending with the stop token of the last reply. The next turn appends to it, so
 * its prompt shares this prefix token for token and the engine's prefix cache (or the persisted KV)
 * covers it.
 */
@PublicEvolving
public class ConversationState {
    /** The model's context so far.                                  [n] */
    public int[] tokens = new int[0];
    /** The history as a JSON array of {role, content, metadata}, for readers and tools. */
    public String messagesJson = "[]";
    /** The tools offered in the first turn (a JSON array), against which calls are checked; or null. */
    public String toolsJson;
    /** The function call waiting for its ToolResult, or null. */
    public String pendingCallId;
    /** The request whose generation the pending call belongs to. */
    public String pendingRequestId;
    /** Generation steps so far; part of each step's seed, so replays draw the same tokens. */
    public int generations;
    /** The tenant of the last prompt, under which its tool-result turns (which carry none) are scheduled; or null. */
    public String tenant;
    /** The priority of the last prompt, for its tool-result turns; null: the job default. */
    public Integer priority;

    public ConversationState() {}

    ConversationState copy() {
        ConversationState c = new ConversationState();
        c.tokens = tokens.clone();
        c.messagesJson = messagesJson;
        c.toolsJson = toolsJson;
        c.pendingCallId = pendingCallId;
        c.pendingRequestId = pendingRequestId;
        c.generations = generations;
        c.tenant = tenant;
        c.priority = priority;
        return c;
    }

    @Override
    public String toString() {
        return "ConversationState{tokens=" + tokens.length + ", pendingCallId=" + pendingCallId
                + ", generations=" + generations + ", tenant=" + tenant + ", messages=" + messagesJson + "}";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConversationState s && Arrays.equals(tokens, s.tokens)
                && messagesJson.equals(s.messagesJson) && Objects.equals(toolsJson, s.toolsJson)
                && Objects.equals(pendingCallId, s.pendingCallId) && Objects.equals(pendingRequestId, s.pendingRequestId)
                && generations == s.generations && Objects.equals(tenant, s.tenant)
                && Objects.equals(priority, s.priority);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(tokens), messagesJson, toolsJson, pendingCallId, pendingRequestId, generations, tenant, priority);
    }
}
