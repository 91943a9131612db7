package io.flinkglm.operator;

import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.FunctionCall;
import io.flinkglm.records.Prompt;
import io.flinkglm.records.SafetyVerdict;
import io.flinkglm.records.Sourced;
import io.flinkglm.records.Task;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

import java.util.concurrent.TimeUnit;
import org.apache.flink.annotation.PublicEvolving;

/**
 * The entry point: GLM-4 chat on a stream of conversation inputs keyed by conversation id, with
 * optional moderation of prompts (before generation) and completions (after it).
 *
 * <pre>{@code
 * Configuration conf = new Configuration();
 * conf.set(GlmOptions.MODEL_PATH, "/models/glm-4-9b-chat-hf");
 * conf.set(GlmOptions.MODERATION, GlmOptions.ModerationMode.PROMPTS);
 * GlmStreams.Chat chat = GlmStreams.chat(inputs.keyBy(ChatInput::conversationId), conf);
 * chat.completions().sinkTo(completionSink);
 * chat.functionCalls().sinkTo(callSink);
 * chat.safety().sinkTo(verdictSink);
 * chat.errors().sinkTo(deadLetterSink);
 * }</pre>
 *
 * <p>Under {@link GlmOptions.ModerationMode#STREAMING} the chat operator classifies each completion while it is
 * generated and stops a flagged one (a completion without text, finish_reason content_filter); prompts are then
 * judged as the context of their reply.
 *
 * <p>With {@link GlmOptions#TENANTS_BUDGETS} set, a budget stage keyed by tenant ({@link TokenBudgetGate}) sits
 * between the prompt screen and generation.
 *
 * <p>Prompts with task {@code moderate} are always classified and answered by their verdict only;
 * they never reach generation.
 */
@PublicEvolving
public final class GlmStreams {
    private GlmStreams() {}

    /** The outputs of a chat pipeline. */
    public record Chat(DataStream<Completion> completions, DataStream<FunctionCall> functionCalls,
                       DataStream<SafetyVerdict> safety, DataStream<DeadLetter> errors) {}

    public static Chat chat(KeyedStream<ChatInput, String> inputs, Configuration config) {
        GlmOptions.ModerationMode mode = config.get(GlmOptions.MODERATION);
        boolean checkPrompts = mode == GlmOptions.ModerationMode.PROMPTS || mode == GlmOptions.ModerationMode.BOTH;
        boolean checkCompletions = mode == GlmOptions.ModerationMode.COMPLETIONS || mode == GlmOptions.ModerationMode.BOTH;
        boolean refuse = config.get(GlmOptions.FLAGGED_PROMPTS) == GlmOptions.FlaggedPrompt.REFUSE;

        // Stage 1: classify prompts (all of them, or only task=moderate ones); ordered, so a
        // conversation's inputs keep their order.
        SingleOutputStreamOperator<ChatInput> screened = AsyncDataStream.orderedWait(inputs,
                        new SafetyCheck<>(config, SafetyVerdict.Checked.PROMPT, new PromptSubject(checkPrompts)),
                        config.get(GlmOptions.REQUEST_TIMEOUT).toMillis(), TimeUnit.MILLISECONDS,
                        config.get(GlmOptions.MODERATION_CAPACITY))
                .uid("glm-prompt-safety").name("glm-prompt-safety")
                .process(new ModerationRouter<>(refuse ? GlmStreams::refusePrompt : null, GlmStreams::moderationOnly,
                                in -> in.origin), TypeInformation.of(ChatInput.class))
                .uid("glm-prompt-screen").name("glm-prompt-screen");

        // Stage 1b: token budgets, keyed by tenant, so a tenant spread over many conversations and subtasks has
        // one account. Only what reaches generation is charged (moderation-only and refused prompts left above).
        DataStream<ChatInput> admitted = screened;
        DataStream<DeadLetter> overBudget = null;
        if (TokenBudgets.of(config).isPresent()) { // parsed here too, so a malformed spec fails job construction
            SingleOutputStreamOperator<ChatInput> budgeted = screened.keyBy(TokenBudgetGate::keyOf, Types.STRING)
                    .transform("glm-budgets", TypeInformation.of(ChatInput.class),
                            new TokenBudgetOperator(new TokenBudgetGate(config)))
                    .uid("glm-budgets");
            admitted = budgeted;
            overBudget = budgeted.getSideOutput(GlmOutputs.ERRORS);
        }

        // Stage 2: generation, keyed by conversation. Keyed again rather than reinterpreted: a key's
        // inputs all come from one upstream subtask, so their order survives the exchange. (Through the budget
        // stage a conversation's prompts come from its tenant's subtask and its tool results from another, so
        // only the prompts keep their order among themselves; docs/ARCHITECTURE.md, Token budgets.)
        // Completions keep their prompt's origin until the last stage that could dead-letter them.
        SingleOutputStreamOperator<Sourced<Completion>> generated = admitted.keyBy(ChatInput::conversationId)
                .transform("glm-chat", Sourced.typeInfo(Completion.class), new GlmChatOperatorFactory(config))
                .uid("glm-chat");

        DataStream<Sourced<Completion>> answered = generated;
        DataStream<SafetyVerdict> safety = screened.getSideOutput(GlmOutputs.SAFETY);
        DataStream<Completion> refusals = screened.getSideOutput(ModerationRouter.REFUSALS);
        DataStream<DeadLetter> errors = screened.getSideOutput(GlmOutputs.ERRORS).union(generated.getSideOutput(GlmOutputs.ERRORS));
        if (overBudget != null) {
            errors = errors.union(overBudget);
        }

        // Stage 3: classify completions.
        if (checkCompletions) {
            SingleOutputStreamOperator<Sourced<Completion>> checked = AsyncDataStream.orderedWait(generated,
                            new SafetyCheck<>(config, SafetyVerdict.Checked.COMPLETION, new CompletionSubject()),
                            config.get(GlmOptions.REQUEST_TIMEOUT).toMillis(), TimeUnit.MILLISECONDS,
                            config.get(GlmOptions.MODERATION_CAPACITY))
                    .uid("glm-completion-safety").name("glm-completion-safety")
                    .process(new ModerationRouter<>(c -> c.value().withheld(), c -> false, Sourced::origin),
                            Sourced.typeInfo(Completion.class))
                    .uid("glm-completion-screen").name("glm-completion-screen");
            answered = checked;
            refusals = refusals.union(checked.getSideOutput(ModerationRouter.REFUSALS));
            safety = safety.union(checked.getSideOutput(GlmOutputs.SAFETY));
            errors = errors.union(checked.getSideOutput(GlmOutputs.ERRORS));
        }
        if (mode == GlmOptions.ModerationMode.STREAMING) { // the chat operator checks while it generates
            safety = safety.union(generated.getSideOutput(GlmOutputs.SAFETY));
        }
        DataStream<Completion> completions = answered.map(Sourced::value, TypeInformation.of(Completion.class))
                .uid("glm-completions").name("glm-completions");
        return new Chat(completions.union(refusals), generated.getSideOutput(GlmOutputs.FUNCTION_CALLS), safety, errors);
    }

    private static boolean moderationOnly(ChatInput in) {
        return in.prompt != null && in.prompt.task() == Task.MODERATE;
    }

    private static Completion refusePrompt(ChatInput in) {
        return Completion.builder(in.prompt.requestId(), in.prompt.conversationId()).refused().build();
    }

    /** The text of a prompt that needs a verdict: its text, or its last user message; tool results are not checked. */
    static final class PromptSubject implements SafetyCheck.Subject<ChatInput> {
        private static final long serialVersionUID = 1L;
        private final boolean checkAll;

        PromptSubject(boolean checkAll) {
            this.checkAll = checkAll;
        }

        @Override
        public String apply(ChatInput in) {
            Prompt p = in.prompt;
            if (p == null || (!checkAll && p.task() != Task.MODERATE)) {
                return null;
            }
            if (p.text() != null) {
                return p.text();
            }
            for (int i = p.messages() == null ? -1 : p.messages().size() - 1; i >= 0; i--) {
                if ("user".equals(p.messages().get(i).role()) && p.messages().get(i).content() != null) {
                    return p.messages().get(i).content();
                }
            }
            return null;
        }

        @Override
        public String requestId(ChatInput in) {
            return in.id();
        }

        @Override
        public String conversationId(ChatInput in) {
            return in.conversationId();
        }
    }

    static final class CompletionSubject implements SafetyCheck.Subject<Sourced<Completion>> {
        private static final long serialVersionUID = 1L;

        @Override
        public String apply(Sourced<Completion> c) {
            return c.value().text();
        }

        @Override
        public String requestId(Sourced<Completion> c) {
            return c.value().requestId();
        }

        @Override
        public String conversationId(Sourced<Completion> c) {
            return c.value().conversationId();
        }
    }
}
