package io.flinkglm.operator;

import io.flinkglm.runtime.chat.AssistantReply;
import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.GenerationResult;
import org.apache.flink.configuration.Configuration;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The expectation for a chat job: the same turns given to the engine alone, one at a time, with the
 * conversation kept as the operator specifies it (context = prompt + reply + stop token, one more
 * generation per turn). What a job answers must equal this, however it batched, failed or rescaled.
 */
final class ReferenceChat implements AutoCloseable {

    /**
     * One answered turn.
     *
     * @param historyTokens the conversation's context before this turn (0 for a first turn)
     */
    record Answer(String requestId, String text, int promptTokens, int historyTokens, int completionTokens) {
        Reply reply() {
            return new Reply(text, promptTokens, completionTokens);
        }
    }

    /** What of an answer a completion record shows. */
    record Reply(String text, int promptTokens, int completionTokens) {
        static Reply of(io.flinkglm.records.Completion c) {
            return new Reply(c.text(), c.promptTokens(), c.completionTokens());
        }
    }

    private final GlmWorker worker;
    private final ConversationCore core;
    private final Map<String, ConversationState> conversations = new HashMap<>();

    ReferenceChat(Configuration config) {
        this.worker = GlmWorker.acquire(config, "reference-" + System.identityHashCode(this));
        this.core = new ConversationCore(worker.tokenizer(), worker.model().config().eosTokenIds(),
                worker.model().config().maxPositions(), config);
    }

    /** Answers the inputs in order; inputs that cannot become a turn get no answer. By request id. */
    Map<String, Answer> answer(Iterable<ChatInput> inputs) throws Exception {
        Map<String, Answer> answers = new LinkedHashMap<>();
        for (ChatInput input : inputs) {
            ConversationState state = conversations.computeIfAbsent(input.conversationId(), k -> new ConversationState());
            if (!(core.plan(state, input) instanceof Turn turn)) {
                continue;
            }
            GenerationResult r = worker.engine().submit(GenerationRequest.builder(
                            turn.requestId() + "#" + state.generations, turn.promptTokens())
                    .sampling(turn.sampling()).build()).result().get(60, TimeUnit.SECONDS);
            String decoded = worker.tokenizer().decode(r.outputTokens());
            AssistantReply reply = AssistantReply.parse(decoded,
                    r.stopTokenId() == worker.tokenizer().specialId("<|observation|>"));
            if (!(reply instanceof AssistantReply.Text text)) {
                throw new IllegalStateException("the tiny model answered " + turn.requestId()
                        + " with a function call; pick other prompt texts or another model seed");
            }
            answers.put(turn.requestId(), new Answer(turn.requestId(), text.text(), r.promptTokens(),
                    state.tokens.length, r.outputTokens().length));
            int[] context = Arrays.copyOf(turn.promptTokens(), turn.promptTokens().length + r.outputTokens().length
                    + (r.stopTokenId() >= 0 ? 1 : 0));
            System.arraycopy(r.outputTokens(), 0, context, turn.promptTokens().length, r.outputTokens().length);
            if (r.stopTokenId() >= 0) {
                context[context.length - 1] = r.stopTokenId();
            }
            state.tokens = context;
            state.generations++;
        }
        return answers;
    }

    @Override
    public void close() {
        worker.close();
    }
}
