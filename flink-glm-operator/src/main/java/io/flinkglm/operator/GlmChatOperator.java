package io.flinkglm.operator;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.FunctionCall;
import io.flinkglm.runtime.chat.AssistantReply;
import io.flinkglm.runtime.chat.ChatMessage;
import io.flinkglm.runtime.chat.ToolCallValidator;
import io.flinkglm.runtime.chat.ValidatedToolCall;
import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.RequestHandle;
import org.apache.flink.api.common.accumulators.Accumulator;
import org.apache.flink.api.common.accumulators.IntMaximum;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.accumulators.LongMaximum;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.state.KeyedStateStore;
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

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
 *
 * <p>Besides metrics, the operator keeps job-level accumulators, readable from the
 * {@code JobExecutionResult}: {@value #PROMPT_TOKENS_COMPUTED} and {@value #PROMPT_TOKENS_CACHED}
 * (prompt tokens the engine prefilled versus took from its prefix cache or imported KV),
 * {@value #MAX_IN_FLIGHT} (the most turns one subtask had in flight) and {@value #MAX_KV_STATE_BYTES}
 * (the largest KV one conversation keeps in state with {@link GlmOptions#KV_PERSISTENCE}).
 */
public class GlmChatOperator extends AbstractStreamOperator<Completion>
        implements OneInputStreamOperator<ChatInput, Completion>, BoundedOneInput {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    public static final String PROMPT_TOKENS_COMPUTED = "glm-prompt-tokens-computed";
    public static final String PROMPT_TOKENS_CACHED = "glm-prompt-tokens-cached";
    public static final String MAX_IN_FLIGHT = "glm-max-in-flight";
    public static final String MAX_KV_STATE_BYTES = "glm-max-kv-state-bytes";

    /** How soon a turn the engine's full queue refused is offered again. */
    private static final long ENGINE_FULL_RETRY_MS = 10;

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
    private transient boolean retryScheduled;
    private transient Counter completions;
    private transient Counter errors;
    private transient long kvStateBytes;
    private transient LongCounter promptTokensComputed;
    private transient LongCounter promptTokensCached;
    private transient IntMaximum maxInFlight;
    private transient LongMaximum maxKvStateBytes;

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
        // The context's store, not getRuntimeContext()'s: the runtime context gets its keyed store only
        // after this method returns (AbstractStreamOperator#initializeState), so using it here fails.
        KeyedStateStore store = context.getKeyedStateStore();
        conversations = store.getState(conv);
        pending = store.getListState(pend);
        kvState = store.getState(kv);
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
        promptTokensComputed = addAccumulator(PROMPT_TOKENS_COMPUTED, new LongCounter());
        promptTokensCached = addAccumulator(PROMPT_TOKENS_CACHED, new LongCounter());
        maxInFlight = addAccumulator(MAX_IN_FLIGHT, new IntMaximum(0));
        maxKvStateBytes = addAccumulator(MAX_KV_STATE_BYTES, new LongMaximum(0L));
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
        ready.add(key);
        startReadyTurns();
        while (!ready.isEmpty()) {
            mailbox.yield(); // backpressure: run result (and retry) mails until this turn is submitted
        }
    }

    private int capacity() {
        return config.get(GlmOptions.CAPACITY);
    }

    /**
     * Starts queued conversations, oldest first, while this operator has slots and the engine takes
     * them. An engine whose queue is full (shared by other subtasks) is retried on a timer.
     */
    private void startReadyTurns() throws Exception {
        while (!ready.isEmpty() && inFlight.size() < capacity()) {
            String key = ready.poll();
            if (!startTurn(key)) {
                ready.addFirst(key);
                if (!retryScheduled) {
                    retryScheduled = true;
                    long at = getProcessingTimeService().getCurrentProcessingTime() + ENGINE_FULL_RETRY_MS;
                    getProcessingTimeService().registerTimer(at, time -> {
                        retryScheduled = false;
                        startReadyTurns();
                    });
                }
                return;
            }
        }
    }

    /**
     * Submits the head of a conversation's pending list. Inputs that cannot become a turn go to the
     * error output and the next one is tried, so a bad record never blocks its conversation.
     *
     * @return false if the engine's queue was full and nothing was submitted
     */
    private boolean startTurn(String key) throws Exception {
        setCurrentKey(key);
        while (true) {
            List<ChatInput> queue = pendingList();
            if (queue.isEmpty()) {
                return true;
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
                Optional<RequestHandle> submitted = worker.engine().trySubmit(request.build());
                if (submitted.isEmpty()) {
                    return false;
                }
                handle = submitted.get();
            } catch (IllegalArgumentException e) {
                emitError(head, "engine rejected the turn: " + e.getMessage(), "submit");
                pending.update(queue.subList(1, queue.size()));
                continue;
            }
            inFlight.put(key, handle);
            maxInFlight.add(inFlight.size());
            handle.result().whenComplete((result, failure) -> mailbox.execute(
                    () -> onResult(key, turn, result, failure), "glm result %s", turn.requestId()));
            return true;
        }
    }

    private void onResult(String key, TurnPlanner.Turn turn, GenerationResult result, Throwable failure) throws Exception {
        inFlight.remove(key);
        setCurrentKey(key);
        if (result != null) {
            promptTokensComputed.add(result.computedPromptTokens());
            promptTokensCached.add(result.cachedPromptTokens());
        }
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

    /**
     * Stores the turn in the conversation and emits its completion or function call. A call the
     * tools do not allow (unknown name, arguments that are not JSON or break the tool's schema) is
     * an error record with the raw text, and the turn is not kept: the conversation stays as it was.
     */
    private void complete(String key, ChatInput head, TurnPlanner.Turn turn, GenerationResult result) throws Exception {
        int[] out = result.outputTokens();
        String text = worker.tokenizer().decode(out);
        int observation = worker.tokenizer().specialId("<|observation|>");
        // A raw completion is text whatever stopped it; a chat turn may be a function call.
        AssistantReply reply = turn.remember()
                ? turn.toolChoice().parseReply(text, result.stopTokenId() == observation)
                : new AssistantReply.Text(text);
        ConversationState state = stateOrNew();
        ValidatedToolCall call = null;
        if (reply instanceof AssistantReply.FunctionCall fc) {
            String tools = turn.toolsJson() != null ? turn.toolsJson() : state.toolsJson;
            call = ToolCallValidator.fromJson(tools == null ? "[]" : tools).validate(fc, turn.toolChoice());
            if (call instanceof ValidatedToolCall.Invalid invalid) {
                emitError(head, "invalid function call (" + invalid.reason() + "): " + invalid.message()
                        + "; raw text: " + fc.name() + "\n" + fc.rawArguments(), "function-call");
                return;
            }
        }
        if (turn.remember()) {
            state.tokens = concat(turn.promptTokens(), out, result.stopTokenId());
            state.generations++;
            if (turn.toolsJson() != null) {
                state.toolsJson = turn.toolsJson();
            }
            List<ChatMessage> added = new ArrayList<>(turn.newMessages());
            if (reply instanceof AssistantReply.FunctionCall fc) {
                added.add(fc.toMessage());
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
                maxKvStateBytes.add(kvStateBytes);
            }
        }
        GenerationResult.Timings t = result.timings();
        if (call != null) {
            String arguments = call instanceof ValidatedToolCall.Function f ? JSON.writeValueAsString(f.arguments())
                    : ((ValidatedToolCall.BuiltIn) call).rawArguments();
            output.collect(GlmOutputs.FUNCTION_CALLS, new StreamRecord<>(new FunctionCall(turn.requestId(), key,
                    turn.remember() ? state.pendingCallId : null, ((AssistantReply.FunctionCall) reply).name(), arguments)));
            return;
        }
        completions.inc();
        output.collect(new StreamRecord<>(new Completion(turn.requestId(), key, ((AssistantReply.Text) reply).text(),
                result.finishReason() == GenerationResult.FinishReason.STOP ? "stop" : "length",
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
        startReadyTurns();
        while (!inFlight.isEmpty() || !ready.isEmpty()) {
            mailbox.yield();
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

    private <V, R extends Serializable, A extends Accumulator<V, R>> A addAccumulator(String name, A accumulator) {
        getRuntimeContext().addAccumulator(name, accumulator);
        return accumulator;
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
