package io.flinkglm.operator;

import io.flinkglm.runtime.chat.ChatMessage;
import io.flinkglm.runtime.chat.ToolChoice;
import io.flinkglm.runtime.engine.SamplingParams;
import java.util.List;
import org.apache.flink.annotation.Internal;

/**
 * One planned generation step.
 *
 * @param requestId    the id the answer carries (a tool result continues its call's request)
 * @param promptTokens the whole context to feed the model                                   [n]
 * @param newMessages  what this turn adds to the history
 * @param toolsJson    the tools this turn offers for the first time (a JSON array), or null
 * @param remember     whether the conversation state keeps this turn (not for raw completions)
 * @param context      how the conversation's history was cut to fit, or {@link ContextWindow.Cut#NONE}
 */
@Internal
record Turn(String requestId, int[] promptTokens, List<ChatMessage> newMessages, String toolsJson,
            ToolChoice toolChoice, SamplingParams sampling, boolean remember, ContextWindow.Cut context,
            io.flinkglm.runtime.constraint.Constraint constraint)
        implements TurnPlan {}
