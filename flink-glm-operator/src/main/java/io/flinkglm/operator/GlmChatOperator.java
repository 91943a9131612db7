package io.flinkglm.operator;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.flinkglm.connectors.records.Completion;
import io.flinkglm.connectors.records.DeadLetter;
import io.flinkglm.connectors.records.FunctionCall;
import io.flinkglm.runtime.chat.AssistantReply;
import io.flinkglm.runtime.chat.ChatMessage;
import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.RequestHandle;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.StreamOperatorParameters;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The chat operator: a keyed conversation per key, its turns batched with every other
 * conversation's onto one GLM-4 engine. In the style of Flink's {@code AsyncWaitOperator}: a turn is
 * submitted to the engine and the task returns to its mailbox; the result comes back as a mail, so
 * state updates and emission happen on the task thread, between checkpoints, never during one.
 *
 * <p>Ordering and exactly-once rest on one keyed list, {@code pending}: every input of a
 * conversation is appended to it, and its head is the turn in flight. A turn's result updates the
 * conversation, emits, and removes the head in the same mail. A checkpoint therefore holds every
 * input that has not produced output yet, under its own key; after a restore (at any parallelism,
 * since the list moves with its key group) each head is submitted again with the same seed, giving
 * the same tokens, and the transactional sink keeps only the output of completed checkpoints.
 *
 * <p>In-flight work is bounded by {@link GlmOptions#CAPACITY}: at the bound, {@code processElement}
 * yields to the mailbox (running result mails) until a slot frees, so the source slows down.
 */
public class GlmChatOperator extends AbstractStreamOperator<Completion>
        implements OneInputStreamOperator<ChatInput, Completion>, BoundedOneInput {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Configuration config;
    private final transient MailboxExecutor mailbox;

    private transient GlmWorker worker;
    private transient TurnPlanner planner;
    private transient ValueState<ConversationState> conversations;
    private transient ListState<ChatInput> pending;
    private transient ValueState<byte[]> kvState;
    /** Turns submitted to the engine and not yet answered, by conversation. */
    private transient Map<String, RequestHandle> inFlight;
    /** Conversations whose next turn is ready but waits for a free slot, oldest first. */
    private transient ArrayDeque<String> ready;
    private transient Counter completions;
    private transient Counter errors;
    private transient long kvStateBytes;

    public GlmChatOperator(StreamOperatorParameters<Completion> parameters, Configuration config) {
        super(parameters);
        this.config = config;
        this.mailbox = parameters.getMailboxExecutor();
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        ValueStateDescriptor<ConversationState> conv =
                new ValueStateDescriptor<>("conversation", TypeInformation.of(ConversationState.class));
        ListStateDescriptor<ChatInput> pend = new ListStateDescriptor<>("pending", TypeInformation.of(ChatInput.class));
        ValueStateDescriptor<byte[]> kv = new ValueStateDescriptor<>("kv", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
        config.getOptional(GlmOptions.STATE_TTL).ifPresent(ttl -> {
            StateTtlConfig ttlConfig = StateTtlConfig.newBuilder(ttl).build();
            conv.enableTimeToLive(ttlConfig);
            kv.enableTimeToLive(ttlConfig);
        });
        // The runtime context gets its keyed state store only after this method: use the context's.
        conversations = context.getKeyedStateStore().getState(conv);
        pending = context.getKeyedStateStore().getListState(pend);
        kvState = context.getKeyedStateStore().getState(kv);
    }

    @Override
    public void open() throws Exception {
        super.open();
        inFlight = new HashMap<>();
        ready = new ArrayDeque<>();
        completions = getMetricGroup().counter("glmCompletions");
        errors = getMetricGroup().counter("glmErrors");
        getMetricGroup().gauge("glmInFlight", () -> inFlight.size());
        getMetricGroup().gauge("glmKvStateBytes", () -> kvStateBytes);
        worker = GlmWorker.acquire(config, getOperatorID() + "-" + getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
        planner = new TurnPlanner(worker.tokenizer(), worker.model().config().eosTokenIds(), config);
        // Inputs restored from a checkpoint: every conversation with a pending list is resumed.
        List<String> restored;
        try (Stream<Object> keys = getKeyedStateBackend().getKeys("pending", VoidNamespace.INSTANCE)) {
            restored = keys.map(String.class::cast).collect(Collectors.toList());
        }
        ready.addAll(restored);
        startReadyTurns();
    }

    @Override
    public void processElement(StreamRecord<ChatInput> element) throws Exception {
        ChatInput input = element.getValue();
        String key = (String) getCurrentKey();
        boolean busy = pending.get().iterator().hasNext();
        pending.add(input);
        if (busy) {
            return; // turns of one conversation run strictly in order: this one waits for the head
        }
        while (inFlight.size() >= capacity() || !ready.isEmpty()) {
            startReadyTurns();
            if (inFlight.size() >= capacity()) {
                mailbox.yield(); // backpressure: run result mails until a slot frees
            }
        }
        startTurn(key);
    }

    private int capacity() {
        return config.get(GlmOptions.CAPACITY);
    }

    /** Starts queued conversations while there is room. */
    private void startReadyTurns() throws Exception {
        while (!ready.isEmpty() && inFlight.size() < capacity()) {
            startTurn(ready.poll());
        }
    }

    /**
     * Submits the head of a conversation's pending list. Inputs that cannot become a turn go to the
     * error output and the next one is tried, so a bad record never blocks its conversation.
     */
    private void startTurn(String key) throws Exception {
        setCurrentKey(key);
        while (true) {
            List<ChatInput> queue = pendingList();
            if (queue.isEmpty()) {
                return;
            }
            ChatInput head = queue.get(0);
            ConversationState state = stateOrNew();
            TurnPlanner.Turn turn;
            try {
                turn = planner.plan(state, head);
            } catch (TurnPlanner.InvalidInput e) {
                emitError(head, e.getMessage(), "plan");
                pending.update(queue.subList(1, queue.size()));
                continue;
            }
            GenerationRequest.Builder request = GenerationRequest.builder(turn.requestId() + "#" + state.generations,
                            turn.promptTokens())
                    .sampling(turn.sampling())
                    .conversationKey(key)
                    .deadlineMillis(System.currentTimeMillis() + config.get(GlmOptions.REQUEST_TIMEOUT).toMillis());
            if (turn.remember() && config.get(GlmOptions.KV_PERSISTENCE)) {
                request.exportKv(true);
                byte[] kv = kvState.value();
                if (kv != null) {
                    request.importedKv(kv);
                }
            }
            RequestHandle handle;
            try {
                handle = worker.engine().submit(request.build());
            } catch (IllegalArgumentException e) {
                emitError(head, "engine rejected the turn: " + e.getMessage(), "submit");
                pending.update(queue.subList(1, queue.size()));
                continue;
            }
            inFlight.put(key, handle);
            handle.result().whenComplete((result, failure) -> mailbox.execute(
                    () -> onResult(key, turn, result, failure), "glm result %s", turn.requestId()));
            return;
        }
    }

    private void onResult(String key, TurnPlanner.Turn turn, GenerationResult result, Throwable failure) throws Exception {
        inFlight.remove(key);
        setCurrentKey(key);
        List<ChatInput> queue = pendingList();
        ChatInput head = queue.get(0);
        if (failure != null) {
            emitError(head, "generation failed: " + failure, "generate");
        } else if (result.finishReason() == GenerationResult.FinishReason.STOP
                || result.finishReason() == GenerationResult.FinishReason.LENGTH) {
            complete(key, head, turn, result);
        } else {
            emitError(head, "generation ended with " + result.finishReason()
                    + (result.message() != null ? ": " + result.message() : "")
                    + (result.finishReason() == GenerationResult.FinishReason.DEADLINE
                    ? " (timeout " + config.get(GlmOptions.REQUEST_TIMEOUT) + ")" : ""), "generate");
        }
        pending.update(queue.subList(1, queue.size()));
        if (queue.size() > 1) {
            ready.add(key);
        }
        startReadyTurns();
    }

    /** Stores the turn in the conversation and emits its completion or function call. */
    private void complete(String key, ChatInput head, TurnPlanner.Turn turn, GenerationResult result) throws Exception {
        int[] out = result.outputTokens();
        String text = worker.tokenizer().decode(out);
        int observation = worker.tokenizer().specialId("<|observation|>");
        AssistantReply reply = AssistantReply.parse(text, result.stopTokenId() == observation);
        ConversationState state = stateOrNew();
        if (turn.remember()) {
            state.tokens = concat(turn.promptTokens(), out, result.stopTokenId());
            state.generations++;
            if (turn.toolsJson() != null) {
                state.toolsJson = turn.toolsJson();
            }
            List<ChatMessage> added = new ArrayList<>(turn.newMessages());
            if (reply instanceof AssistantReply.FunctionCall call) {
                added.add(call.toMessage());
                state.pendingCallId = turn.requestId() + "-call-" + state.generations;
                state.pendingRequestId = turn.requestId();
            } else {
                added.add(ChatMessage.assistant(((AssistantReply.Text) reply).text()));
                state.pendingCallId = null;
                state.pendingRequestId = null;
            }
            state.messagesJson = appendMessages(state.messagesJson, added);
            conversations.update(state);
            if (result.kv() != null) {
                kvState.update(result.kv());
                kvStateBytes = result.kv().length;
            }
        }
        GenerationResult.Timings t = result.timings();
        if (reply instanceof AssistantReply.FunctionCall call && turn.remember()) {
            output.collect(GlmOutputs.FUNCTION_CALLS, new StreamRecord<>(new FunctionCall(turn.requestId(), key,
                    state.pendingCallId, call.name(), call.rawArguments())));
            return;
        }
        completions.inc();
        output.collect(new StreamRecord<>(new Completion(turn.requestId(), key, reply instanceof AssistantReply.Text tx
                ? tx.text() : text, result.finishReason() == GenerationResult.FinishReason.STOP ? "stop" : "length",
                result.promptTokens(), out.length, millis(t.queueNanos()), millis(t.firstTokenNanos()),
                millis(t.totalNanos()))));
    }

    private void emitError(ChatInput input, String reason, String stage) {
        errors.inc();
        byte[] original = input.toString().getBytes(StandardCharsets.UTF_8);
        output.collect(GlmOutputs.ERRORS, new StreamRecord<>(DeadLetter.of(original, null, -1, -1, reason, stage)));
    }

    @Override
    public void endInput() throws Exception {
        // A bounded input: answer everything before the operator finishes.
        while (!inFlight.isEmpty() || !ready.isEmpty()) {
            startReadyTurns();
            if (!inFlight.isEmpty()) {
                mailbox.yield();
            }
        }
    }

    @Override
    public void close() throws Exception {
        try {
            if (inFlight != null) {
                inFlight.values().forEach(RequestHandle::cancel);
            }
            if (worker != null) {
                worker.close();
            }
        } finally {
            super.close();
        }
    }

    private List<ChatInput> pendingList() throws Exception {
        List<ChatInput> list = new ArrayList<>();
        for (ChatInput in : pending.get()) {
            list.add(in);
        }
        return list;
    }

    private ConversationState stateOrNew() throws Exception {
        ConversationState s = conversations.value();
        return s == null ? new ConversationState() : s.copy();
    }

    private static String appendMessages(String json, List<ChatMessage> added) throws Exception {
        ArrayNode array = (ArrayNode) JSON.readTree(json);
        for (ChatMessage m : added) {
            var node = array.addObject().put("role", m.role().wireName());
            node.put("content", m.content());
            if (m.metadata() != null) {
                node.put("metadata", m.metadata());
            }
        }
        return JSON.writeValueAsString(array);
    }

    private static int[] concat(int[] prompt, int[] output, int stopToken) {
        int extra = stopToken >= 0 ? 1 : 0;
        int[] all = java.util.Arrays.copyOf(prompt, prompt.length + output.length + extra);
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
