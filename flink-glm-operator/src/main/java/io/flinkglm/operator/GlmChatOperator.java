package io.flinkglm.operator;

import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Sourced;
import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.RequestHandle;
import java.io.Serializable;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.accumulators.Accumulator;
import org.apache.flink.api.common.accumulators.IntMaximum;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.accumulators.LongMaximum;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.state.KeyedStateStore;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
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

/**
 * The chat operator: Flink glue around the pure {@link ConversationCore}. A keyed conversation per key,
 * its turns batched with every other conversation's onto one GLM-4 engine. In the style of Flink's
 * {@code AsyncWaitOperator}: a turn is submitted to the engine and the task returns to its mailbox; the
 * result comes back as a mail, so state updates and emission happen on the task thread, between
 * checkpoints, never during one.
 *
 * <p>Ordering and exactly-once rest on {@link PendingInputs}: every input of a conversation is appended
 * to its queue, and the head is the turn in flight. A turn's result updates the conversation, emits, and
 * removes the head in the same mail. A checkpoint therefore holds every input that has not produced
 * output yet; after a restore each head is submitted again with the same seed, giving the same tokens,
 * and the transactional sink keeps only the output of completed checkpoints.
 *
 * <p>One input fails only itself: whatever the core rejects becomes one dead letter with the input's
 * origin and the conversation goes on. Only a broken engine fails the task.
 *
 * <p>In-flight work is bounded by {@link GlmOptions#CAPACITY}: at the bound, {@code processElement}
 * yields to the mailbox (running result mails) until a slot frees, so the source slows down. A turn
 * past {@link GlmOptions#REQUEST_TIMEOUT} is cancelled by a processing-time timer.
 *
 * <p>Job accumulators, readable from the {@code JobExecutionResult}: {@value #PROMPT_TOKENS_COMPUTED}
 * and {@value #PROMPT_TOKENS_CACHED} (prompt tokens the engine prefilled versus took from its prefix cache
 * or imported KV), {@value #MAX_IN_FLIGHT}, {@value #MAX_KV_STATE_BYTES}, {@value #KV_REFUSED} (turns whose kept KV
 * was computed by other weights and was recomputed) and {@value #KV_DROPPED} (KV past glm.state.kv-max-bytes).
 *
 * <p>With {@link GlmOptions.ModerationMode#STREAMING} each turn carries the engine's streaming check
 * ({@link StreamingModeration}); the deciding check's verdict goes to {@link GlmOutputs#SAFETY}, and a flagged turn
 * is a completion without text (content_filter).
 */
@Internal
public class GlmChatOperator extends AbstractStreamOperator<Sourced<Completion>>
        implements OneInputStreamOperator<ChatInput, Sourced<Completion>>, BoundedOneInput {
    private static final long serialVersionUID = 1L;

    public static final String PROMPT_TOKENS_COMPUTED = "glm-prompt-tokens-computed";
    public static final String PROMPT_TOKENS_CACHED = "glm-prompt-tokens-cached";
    public static final String MAX_IN_FLIGHT = "glm-max-in-flight";
    public static final String MAX_KV_STATE_BYTES = "glm-max-kv-state-bytes";
    public static final String KV_REFUSED = "glm-kv-refused";
    public static final String KV_DROPPED = "glm-kv-dropped";

    /** How soon a turn the engine's full queue refused is offered again. */
    private static final long ENGINE_FULL_RETRY_MS = 10;

    private final Configuration config;
    private final transient MailboxExecutor mailbox;

    private transient GlmWorker worker;
    private transient ConversationCore core;
    private transient ValueState<ConversationState> conversations;
    private transient PendingInputs pending;
    private transient ConversationKv kv;
    private transient ReadyTurns turns;
    /** Turns this operator cancelled at their deadline: their CANCELLED result is a timeout, not a broken engine. */
    private transient Set<RequestHandle> timedOut;
    private transient Counter completions;
    private transient Counter errors;
    private transient long kvStateBytes;
    private transient LongCounter promptTokensComputed;
    private transient LongCounter promptTokensCached;
    private transient TenantMetrics tenantMetrics;
    private transient int defaultPriority;
    private transient IntMaximum maxInFlight;
    private transient LongMaximum maxKvStateBytes;
    private transient StreamingModeration moderation; // null unless glm.moderation.mode is STREAMING

    public GlmChatOperator(StreamOperatorParameters<Sourced<Completion>> parameters, Configuration config) {
        super(parameters);
        this.config = config;
        this.mailbox = parameters.getMailboxExecutor();
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        ValueStateDescriptor<ConversationState> conv =
                new ValueStateDescriptor<>("conversation", TypeInformation.of(ConversationState.class));
        Optional<StateTtlConfig> ttl = config.getOptional(GlmOptions.STATE_TTL).map(t -> StateTtlConfig.newBuilder(t).build());
        ttl.ifPresent(conv::enableTimeToLive);
        // The context's store, not getRuntimeContext()'s: the runtime context gets its keyed store only
        // after this method returns (AbstractStreamOperator#initializeState), so using it here fails.
        KeyedStateStore store = context.getKeyedStateStore();
        conversations = store.getState(conv);
        pending = new PendingInputs(store);
        kv = new ConversationKv(store, ttl);
    }

    @Override
    public void open() throws Exception {
        super.open();
        turns = new ReadyTurns(config.get(GlmOptions.CAPACITY));
        timedOut = new HashSet<>();
        completions = getMetricGroup().counter("glmCompletions");
        errors = getMetricGroup().counter("glmErrors");
        LongCounter kvRefused = addAccumulator(KV_REFUSED, new LongCounter());
        LongCounter kvDropped = addAccumulator(KV_DROPPED, new LongCounter());
        getMetricGroup().gauge("glmKvRefused", kvRefused::getLocalValue);
        getMetricGroup().gauge("glmKvDropped", kvDropped::getLocalValue);
        getMetricGroup().gauge("glmInFlight", () -> turns.inFlight());
        getMetricGroup().gauge("glmKvStateBytes", () -> kvStateBytes);
        promptTokensComputed = addAccumulator(PROMPT_TOKENS_COMPUTED, new LongCounter());
        promptTokensCached = addAccumulator(PROMPT_TOKENS_CACHED, new LongCounter());
        maxInFlight = addAccumulator(MAX_IN_FLIGHT, new IntMaximum(0));
        maxKvStateBytes = addAccumulator(MAX_KV_STATE_BYTES, new LongMaximum(0L));
        defaultPriority = TenantScheduling.defaultPriority(config);
        tenantMetrics = new TenantMetrics(getMetricGroup(), config.get(GlmOptions.TENANTS_METRICS_MAX));
        worker = GlmWorker.acquire(config, getOperatorID() + "-" + getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
        core = new ConversationCore(worker.tokenizer(), worker.model().config().eosTokenIds(),
                worker.model().config().maxPositions(), config);
        kv.open(ConversationKv.Policy.of(config, worker.model().fingerprint()), kvRefused, kvDropped);
        moderation = StreamingModeration.of(config, worker);
        // Inputs restored from a checkpoint: every conversation with pending inputs is resumed.
        List<String> restored;
        try (Stream<Object> keys = getKeyedStateBackend().getKeys(PendingInputs.BOUNDS_STATE, VoidNamespace.INSTANCE)) {
            restored = keys.map(String.class::cast).collect(Collectors.toList());
        }
        restored.forEach(turns::offer);
        startReadyTurns();
    }

    @Override
    public void processElement(StreamRecord<ChatInput> element) throws Exception {
        if (!pending.add(element.getValue())) {
            return; // turns of one conversation run strictly in order: this one waits for the head
        }
        turns.offer((String) getCurrentKey());
        startReadyTurns();
        while (turns.hasWaiting()) {
            mailbox.yield(); // backpressure: run result (and retry) mails until this turn is submitted
        }
    }

    /**
     * Starts ready conversations, oldest first, while this operator has slots and the engine takes
     * them. An engine whose queue is full (shared by other subtasks) is retried on a timer.
     */
    private void startReadyTurns() throws Exception {
        for (String key; (key = turns.pollStartable()) != null; ) {
            if (!startTurn(key)) {
                turns.putBack(key);
                if (turns.scheduleRetry()) {
                    long at = getProcessingTimeService().getCurrentProcessingTime() + ENGINE_FULL_RETRY_MS;
                    getProcessingTimeService().registerTimer(at, time -> {
                        turns.retryFired();
                        startReadyTurns();
                    });
                }
                return;
            }
        }
    }

    /**
     * Submits the head of a conversation's pending inputs. Inputs that cannot become a turn are dead
     * letters and the next one is tried, so a bad record never blocks its conversation.
     *
     * @return false if the engine's queue was full and nothing was submitted
     */
    private boolean startTurn(String key) throws Exception {
        setCurrentKey(key);
        for (ChatInput head; (head = pending.head()) != null; pending.removeHead()) {
            TurnPlan plan = core.plan(stateOrNew(), head);
            if (plan instanceof Rejection rejection) {
                deadLetter(head, rejection);
                continue;
            }
            Turn turn = (Turn) plan;
            ConversationState state = stateOrNew();
            // A tool result carries no tenant or priority: its turn runs with those of the prompt it continues.
            GenerationRequest.Builder request = GenerationRequest.builder(
                            turn.requestId() + "#" + state.generations, turn.promptTokens())
                    .sampling(turn.sampling())
                    .constraint(turn.constraint())
                    .conversationKey(key)
                    .priority(TenantScheduling.priorityOf(head, state, defaultPriority))
                    .tenant(TenantScheduling.tenantOf(head, state));
            if (kv.keeps(turn)) {
                kv.prepare(request, turn, state.tokens, key);
            }
            if (moderation != null) {
                request.streamingCheck(moderation.check(head));
            }
            Optional<RequestHandle> submitted;
            try {
                submitted = worker.engine().trySubmit(request.build());
            } catch (IllegalArgumentException e) { // the engine's own check of this request, not a broken engine
                deadLetter(head, new Rejection(DeadLetter.Stage.SUBMIT, "engine_rejected: " + e.getMessage()));
                continue;
            }
            if (submitted.isEmpty()) {
                return false;
            }
            RequestHandle handle = submitted.get();
            turns.started(key, handle);
            maxInFlight.add(turns.inFlight());
            long deadline = getProcessingTimeService().getCurrentProcessingTime() + config.get(GlmOptions.REQUEST_TIMEOUT).toMillis();
            getProcessingTimeService().registerTimer(deadline, time -> {
                if (timedOut != null && !handle.result().isDone()) {
                    timedOut.add(handle);
                    handle.cancel();
                }
            });
            handle.result().whenComplete((result, failure) -> mailbox.execute(
                    () -> onResult(key, turn, handle, result, failure), "glm result %s", turn.requestId()));
            return true;
        }
        return true;
    }

    private void onResult(String key, Turn turn, RequestHandle handle, GenerationResult result, Throwable failure)
            throws Exception {
        turns.finished(key);
        boolean cancelledAtDeadline = timedOut.remove(handle);
        if (failure != null) {
            throw new IllegalStateException("the GLM engine failed turn " + turn.requestId(), failure);
        }
        boolean engineGone = result.finishReason() == GenerationResult.FinishReason.CANCELLED
                || (result.finishReason() == GenerationResult.FinishReason.ERROR && worker.engine().isClosed());
        if (engineGone && !cancelledAtDeadline) {
            // Not this record's fault: fail the task, and the restore replays the turn on a working engine.
            throw new IllegalStateException("the GLM engine stopped under turn " + turn.requestId() + ": "
                    + result.finishReason() + (result.message() != null ? " (" + result.message() + ")" : ""));
        }
        promptTokensComputed.add(result.computedPromptTokens());
        promptTokensCached.add(result.cachedPromptTokens());
        setCurrentKey(key);
        ChatInput head = pending.head();
        tenantMetrics.finished(TenantScheduling.tenantOf(head, stateOrNew()), result);
        TurnOutcome outcome = cancelledAtDeadline
                ? TurnOutcome.rejected(core.timedOut())
                : core.complete(stateOrNew(), key, turn, result);
        if (moderation != null && !cancelledAtDeadline) {
            moderation.verdict(turn.requestId(), key, result)
                    .ifPresent(v -> output.collect(GlmOutputs.SAFETY, new StreamRecord<>(v)));
        }
        emit(head, outcome);
        if (pending.removeHead()) {
            turns.offer(key);
        }
        startReadyTurns();
    }

    private void emit(ChatInput head, TurnOutcome outcome) throws Exception {
        if (outcome.state() != null) {
            TenantScheduling.remember(head, outcome.state());
            conversations.update(outcome.state());
        }
        if (outcome.kv() != null) {
            kvStateBytes = kv.keep(outcome.kv());
            maxKvStateBytes.add(kvStateBytes);
        }
        if (outcome.rejection() != null) {
            deadLetter(head, outcome.rejection());
        } else if (outcome.call() != null) {
            output.collect(GlmOutputs.FUNCTION_CALLS, new StreamRecord<>(outcome.call()));
        } else {
            completions.inc();
            output.collect(new StreamRecord<>(new Sourced<>(outcome.completion(), head.origin)));
        }
    }

    /** The one place a rejected input leaves the operator: a dead letter with its original bytes and coordinates. */
    private void deadLetter(ChatInput input, Rejection rejection) {
        errors.inc();
        output.collect(GlmOutputs.ERRORS, new StreamRecord<>(DeadLetter.of(input.origin, rejection.stage(), rejection.reason())));
    }

    @Override
    public void endInput() throws Exception {
        // A bounded input: answer everything before the operator finishes.
        startReadyTurns();
        while (!turns.isIdle()) {
            mailbox.yield();
        }
    }

    @Override
    public void close() throws Exception {
        try {
            if (turns != null) {
                turns.cancelAll();
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

    private ConversationState stateOrNew() throws Exception {
        ConversationState s = conversations.value();
        return s == null ? new ConversationState() : s.copy();
    }
}
