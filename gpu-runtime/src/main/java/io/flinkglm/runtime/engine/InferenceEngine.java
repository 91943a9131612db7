package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.constraint.TokenTrie;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import io.flinkglm.runtime.model.ModelConfig;
import org.apache.flink.annotation.PublicEvolving;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * Serves generation requests from any thread on one engine thread that runs steps while there is
 * work and parks when there is none. Each step the {@link Scheduler} picks chunks under a token
 * budget, the {@link ModelRunner} runs them in one forward pass and samples, and this class turns
 * sampled tokens into streamed tokens, stops and results. The waiting queue is bounded and its
 * fill is visible, so a caller (the Flink operator) can turn "full" into backpressure.
 *
 * <pre>{@code
 * try (InferenceEngine engine = InferenceEngine.builder(backend).kvBytes(2L << 30).build()) {
 *     RequestHandle h = engine.submit(GenerationRequest.builder("r1", prompt).build());
 *     GenerationResult r = h.result().get(60, TimeUnit.SECONDS);
 * }
 * }</pre>
 */
@PublicEvolving
public final class InferenceEngine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(InferenceEngine.class);
    private static final AtomicInteger ENGINES = new AtomicInteger();

    private final ModelConfig config;
    private final KvBlockManager blocks;
    private final Scheduler scheduler;
    private final ModelRunner runner;
    private final MetricsRecorder metrics = new MetricsRecorder();
    private final EngineMetricsListener metricsListener;
    private final Function<int[], String> detokenizer;
    private final Glm4Tokenizer tokenizer; // null: constrained requests are refused
    private final int queueCapacity;
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicLong nextId = new AtomicLong();
    private final ConcurrentLinkedQueue<Sequence> inbox = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean closed;
    private long steps; // engine thread only: steps run so far, the clock of Timings' step counts

    private InferenceEngine(Builder b, int numBlocks) {
        this.config = b.backend.model().config();
        this.blocks = new KvBlockManager(numBlocks, b.blockSize, b.prefixCaching);
        this.scheduler = new Scheduler(blocks, b.maxBatchTokens, b.maxRunningSequences, b.fairness, b.tenantWeights);
        this.tokenizer = b.tokenizer;
        this.runner = new ModelRunner(b.backend, numBlocks, b.blockSize,
                b.tokenizer == null ? null : TokenTrie.of(b.tokenizer, config.vocabSize()));
        this.metricsListener = b.metricsListener;
        this.detokenizer = b.detokenizer != null || b.tokenizer == null ? b.detokenizer : b.tokenizer::decode;
        this.queueCapacity = b.maxQueuedRequests;
        metrics.gauges(0, 0, blocks);
        this.thread = new Thread(this::loop, "glm-engine-" + ENGINES.incrementAndGet());
        thread.setDaemon(true);
        thread.start();
    }

    public static Builder builder(Backend backend) {
        return new Builder(backend);
    }

    /** Submits a request; throws {@link EngineFullException} when the waiting queue is full. */
    public RequestHandle submit(GenerationRequest request) {
        return trySubmit(request).orElseThrow(() -> new EngineFullException(queueCapacity));
    }

    /**
     * Submits a request unless the waiting queue is full (then empty). Checks the request here, so a
     * bad one fails the caller with an {@link IllegalArgumentException} instead of reaching the engine.
     */
    public Optional<RequestHandle> trySubmit(GenerationRequest request) {
        if (closed) {
            throw new IllegalStateException("inference engine is closed; build a new one");
        }
        KvTransfer.Imported imported = validate(request);
        for (int q; (q = queued.get()) < queueCapacity; ) {
            if (queued.compareAndSet(q, q + 1)) {
                Sequence s = new Sequence(nextId.getAndIncrement(), request, imported, System.nanoTime());
                inbox.add(s);
                LockSupport.unpark(thread);
                if (closed) {
                    cancelInbox(); // the engine thread may already have drained for the last time
                }
                return Optional.of(new RequestHandle(request.requestId(), s.future, () -> {
                    s.cancelRequested = true;
                    LockSupport.unpark(thread);
                }));
            }
        }
        return Optional.empty();
    }

    /**
     * Whether the engine has stopped: closed, or its thread failed. Results that arrive afterwards with
     * {@code ERROR} or {@code CANCELLED} say nothing about their requests, so callers treat them as an
     * infrastructure failure rather than as the request's own.
     */
    public boolean isClosed() {
        return closed;
    }

    public int queueCapacity() {
        return queueCapacity;
    }

    /** Requests accepted but not yet started (never counts preempted ones again). */
    public int queuedRequests() {
        return queued.get();
    }

    public boolean hasCapacity() {
        return queued.get() < queueCapacity;
    }

    public int kvBlocks() {
        return blocks.numBlocks();
    }

    /** The latest snapshot; gauges are as of the end of the last step. */
    public EngineMetrics metrics() {
        return metrics.snapshot();
    }

    /** A snapshot taken by the engine thread between steps: exact, e.g. for asserting block accounting. */
    public CompletableFuture<EngineMetrics> metricsBetweenSteps() {
        CompletableFuture<EngineMetrics> f = new CompletableFuture<>();
        tasks.add(() -> {
            metrics.gauges(scheduler.runningCount(), scheduler.waitingCount(), blocks);
            f.complete(metrics.snapshot());
        });
        LockSupport.unpark(thread);
        if (closed && !thread.isAlive()) {
            f.completeExceptionally(new IllegalStateException("inference engine is closed"));
        }
        return f;
    }

    /** Cancels every outstanding request (CANCELLED) and stops the engine thread. */
    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
        if (Thread.currentThread() != thread) {
            // Uninterruptibly: Flink interrupts a cancelled task's thread, and returning before the
            // loop has finished its step would leave the KV pool reachable while the restarted task
            // allocates its own (a TaskManager sized for one pool failed with OutOfMemoryError).
            boolean interrupted = false;
            while (thread.isAlive()) {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private KvTransfer.Imported validate(GenerationRequest r) {
        checkIds(r, "prompt token", r.promptTokens());
        if (r.isClassification()) {
            checkIds(r, "classification token", r.classifyTokenIds());
        }
        if (r.promptTokens().length >= config.maxPositions()) {
            throw new IllegalArgumentException("request " + r.requestId() + " has a prompt of "
                    + r.promptTokens().length + " tokens but the model holds " + config.maxPositions() + " positions");
        }
        if (!r.sampling().stopStrings().isEmpty() && detokenizer == null) {
            throw new IllegalArgumentException("request " + r.requestId() + " has stop strings but the engine"
                    + " has no detokenizer; build it with detokenizer(tokenizer::decode)");
        }
        if (r.constraint() != null && tokenizer == null) {
            throw new IllegalArgumentException("request " + r.requestId() + " has an output constraint but the engine"
                    + " has no tokenizer to map it onto tokens; build it with tokenizer(tokenizer)");
        }
        if (r.importedKv() == null && r.importedKvBlocks() == null) {
            return null;
        }
        KvTransfer.Imported imported = r.importedKv() != null
                ? KvTransfer.parse(r.importedKv(), runner.model(), runner.kv())
                : KvTransfer.parse(r.importedKvBlocks(), runner.model(), runner.kv());
        int[] kvTokens = imported.tokens();
        if (kvTokens.length > r.promptTokens().length
                || !Arrays.equals(kvTokens, 0, kvTokens.length, r.promptTokens(), 0, kvTokens.length)) {
            throw new IllegalArgumentException("request " + r.requestId() + ": imported KV covers "
                    + kvTokens.length + " tokens that the prompt (" + r.promptTokens().length
                    + " tokens) does not start with; the prompt must extend the exported conversation");
        }
        return imported;
    }

    private void checkIds(GenerationRequest r, String what, int[] ids) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= config.vocabSize()) {
                throw new IllegalArgumentException("request " + r.requestId() + ": " + what + " " + i + " is id "
                        + ids[i] + ", outside the vocabulary of " + config.vocabSize());
            }
        }
    }

    private void loop() {
        try {
            while (!closed) {
                for (Sequence s; (s = inbox.poll()) != null; ) {
                    s.arrivalStep = steps;
                    scheduler.add(s);
                }
                endCancelledAndExpired();
                if (scheduler.hasWork()) {
                    step();
                } else {
                    metrics.gauges(0, 0, blocks);
                }
                for (Runnable task; (task = tasks.poll()) != null; ) {
                    task.run();
                }
                if (!scheduler.hasWork() && inbox.isEmpty() && tasks.isEmpty() && !closed) {
                    LockSupport.park(this);
                }
            }
        } catch (Throwable t) {
            LOG.error("inference engine thread failed; failing its requests", t);
            for (Sequence s : scheduler.sequences()) {
                finish(s, GenerationResult.FinishReason.ERROR, "engine failed: " + t, -1, null);
            }
        } finally {
            closed = true;
            for (Sequence s : scheduler.sequences()) {
                finish(s, GenerationResult.FinishReason.CANCELLED, "engine closed", -1, null);
            }
            cancelInbox();
            for (Runnable task; (task = tasks.poll()) != null; ) {
                task.run();
            }
            runner.close();
        }
    }

    private void endCancelledAndExpired() {
        long nowMillis = System.currentTimeMillis();
        for (Sequence s : scheduler.sequences()) {
            long deadline = s.request.deadlineMillis();
            if (s.cancelRequested) {
                finish(s, GenerationResult.FinishReason.CANCELLED, null, -1, null);
            } else if (deadline != 0 && nowMillis >= deadline) {
                finish(s, GenerationResult.FinishReason.DEADLINE, null, -1, null);
            }
        }
    }

    private void step() {
        steps++;
        SchedulerOutput step = scheduler.schedule(System.nanoTime());
        for (SchedulerOutput.Rejection r : step.rejections()) {
            finish(scheduler.get(r.sequenceId()), GenerationResult.FinishReason.ERROR, r.message(), -1, null);
        }
        for (SchedulerOutput.Chunk c : step.chunks()) {
            Sequence s = scheduler.get(c.sequenceId());
            if (s.queued) {
                s.queued = false;
                s.firstScheduledStep = steps;
                queued.decrementAndGet();
                metrics.admitted(s.promptLength, s.cachedPromptTokens);
            }
        }
        ModelRunnerOutput out;
        try {
            out = runner.execute(step);
        } catch (RuntimeException e) {
            LOG.warn("forward step failed; failing its " + step.chunks().size() + " requests", e);
            for (SchedulerOutput.Chunk c : step.chunks()) {
                finish(scheduler.get(c.sequenceId()), GenerationResult.FinishReason.ERROR,
                        "forward step failed: " + e, -1, null);
            }
            return;
        }
        scheduler.update(step);
        int generated = 0;
        for (ModelRunnerOutput.Sampled sampled : out.sampled()) {
            Sequence s = scheduler.get(sampled.sequenceId());
            if (s == null) {
                continue; // ended earlier in this step: a flagged check stopped it, or it was a check of one
            }
            if (sampled.error() != null) {
                // Only this sequence's logits are bad (backends are batch invariant): the others go on.
                finish(s, GenerationResult.FinishReason.ERROR, sampled.error(), -1, null);
            } else if (sampled.classProbabilities() != null) {
                s.firstTokenNanos = System.nanoTime();
                s.firstTokenStep = steps;
                finish(s, GenerationResult.FinishReason.CLASSIFIED, null, -1, sampled.classProbabilities());
            } else {
                generated++;
                accept(s, sampled.token());
            }
        }
        metrics.step(System.nanoTime(), step.batchTokens(), step.chunks().size(), generated, step.preemptions());
        metrics.gauges(scheduler.runningCount(), scheduler.waitingCount(), blocks);
        if (metricsListener != null) {
            try {
                metricsListener.onStep(metrics.snapshot());
            } catch (RuntimeException e) {
                LOG.warn("engine metrics listener failed", e);
            }
        }
    }

    /** A sampled token: stop on a stop token or string, stream it, or stop at the length limit. */
    private void accept(Sequence s, int token) {
        SamplingParams p = s.request.sampling();
        if (s.firstTokenNanos == 0) {
            s.firstTokenNanos = System.nanoTime();
            s.firstTokenStep = steps;
        }
        if (p.stopTokenIds().contains(token)) {
            finish(s, GenerationResult.FinishReason.STOP, null, token, null);
            return;
        }
        s.append(token);
        if (s.request.constraint() != null) {
            s.constraintState = s.request.constraint().advance(s.constraintState, tokenizer.tokenBytes(token));
            if (s.constraintState < 0) {
                // The sampler only draws masked-in tokens, so this is an engine bug: stop before more harm.
                finish(s, GenerationResult.FinishReason.ERROR, "token " + token + " broke the output constraint "
                        + s.request.constraint(), -1, null);
                return;
            }
        }
        if (s.request.listener() != null) {
            try {
                s.request.listener().onToken(s.request.requestId(), token, s.outputCount() - 1);
            } catch (RuntimeException e) {
                finish(s, GenerationResult.FinishReason.ERROR, "token listener threw " + e, -1, null);
                return;
            }
        }
        if (!p.stopStrings().isEmpty()) {
            // Only an occurrence ending in the new token is new. A stop string of L chars is at most
            // 4L UTF-8 bytes, so at most 4L tokens: decoding that tail keeps the check O(1) per token.
            int[] out = s.outputTokens();
            int window = Math.min(out.length, 4 * longestStop(p) + 1);
            String text = detokenizer.apply(java.util.Arrays.copyOfRange(out, out.length - window, out.length));
            for (String stop : p.stopStrings()) {
                if (text.contains(stop)) {
                    finish(s, GenerationResult.FinishReason.STOP, null, -1, null);
                    return;
                }
            }
        }
        if (s.request.constraint() != null && !s.request.constraint().canContinue(s.constraintState)
                && s.request.constraint().allowedStops(s.constraintState, p.stopTokenIds()).isEmpty()) {
            // Whole and nothing can follow; with a stop token that may end it, the next step draws only that.
            finish(s, GenerationResult.FinishReason.STOP, null, -1, null);
            return;
        }
        if (s.outputCount() >= p.maxTokens() || s.length >= config.maxPositions()) {
            finish(s, GenerationResult.FinishReason.LENGTH, null, -1, null);
            return;
        }
        StreamingCheck check = s.request.streamingCheck();
        if (check != null && s.outputCount() % check.interval() == 0) {
            String failed = launchCheck(s);
            if (failed != null) {
                finish(s, GenerationResult.FinishReason.ERROR, failed, -1, null);
            }
        }
    }

    /**
     * Starts the classification of {@code s}'s output so far: the check's prefix (padded to whole KV blocks),
     * the output tokens, the suffix. It joins the scheduler beside the generation, which goes on meanwhile.
     *
     * @return why it cannot run, or null
     */
    private String launchCheck(Sequence s) {
        StreamingCheck c = s.request.streamingCheck();
        if (s.checkPrefix == null) {
            s.checkPrefix = c.alignedPrefix(blocks.blockSize());
        }
        int n = s.outputCount();
        int[] suffix = c.suffixTokens();
        int[] tokens = Arrays.copyOf(s.checkPrefix, s.checkPrefix.length + n + suffix.length);
        System.arraycopy(s.tokenArray(), s.promptLength, tokens, s.checkPrefix.length, n);
        System.arraycopy(suffix, 0, tokens, s.checkPrefix.length + n, suffix.length);
        if (tokens.length >= config.maxPositions()) {
            return "the streaming check of " + n + " output tokens needs " + tokens.length
                    + " positions but the model holds " + config.maxPositions();
        }
        GenerationRequest request = GenerationRequest.builder(s.request.requestId() + "/check@" + n, tokens)
                .classify(c.labelTokenIds()).priority(s.request.priority()).tenant(s.request.tenant()).build();
        Sequence check = new Sequence(nextId.getAndIncrement(), request, null, System.nanoTime(), s, n);
        check.queued = false; // internal: never counts against the queue
        check.arrivalStep = steps;
        check.firstCheck = s.lastCheckedOutputs < 0;
        s.lastCheckedOutputs = n;
        s.checks.add(check);
        scheduler.add(check);
        return null;
    }

    /** A check came back: a flag stops its sequence; the last one lets a finished sequence's result go. */
    private void checked(Sequence check, GenerationResult result) {
        Sequence s = check.checkOf;
        s.checks.remove(check);
        metrics.checked(result.computedPromptTokens(), check.firstCheck);
        if (s.completed) {
            return;
        }
        if (result.finishReason() != GenerationResult.FinishReason.CLASSIFIED) {
            decide(s, result.finishReason() == GenerationResult.FinishReason.CANCELLED
                            ? GenerationResult.FinishReason.CANCELLED : GenerationResult.FinishReason.ERROR,
                    "streaming check of " + check.checkedOutputs + " output tokens ended with " + result.finishReason()
                            + (result.message() == null ? "" : ": " + result.message()), null);
            return;
        }
        float[] p = result.classProbabilities();
        boolean flagged;
        try {
            flagged = s.request.streamingCheck().flags().test(p);
        } catch (RuntimeException e) {
            decide(s, GenerationResult.FinishReason.ERROR, "streaming check's flag test threw " + e, null);
            return;
        }
        if (flagged) {
            decide(s, GenerationResult.FinishReason.CONTENT_FILTER, null, p);
            return;
        }
        if (check.checkedOutputs > s.finalCheckOutputs) {
            s.finalCheck = p;
            s.finalCheckOutputs = check.checkedOutputs;
        }
        if (s.heldResult != null && s.checks.isEmpty()) {
            complete(s, s.heldResult.decided(s.heldResult.finishReason(), s.heldResult.message(), s.finalCheck));
        }
    }

    /** Ends a sequence as a check decided: now if it still generates, else its held result with that outcome. */
    private void decide(Sequence s, GenerationResult.FinishReason reason, String message, float[] probabilities) {
        if (s.heldResult == null) {
            finish(s, reason, message, -1, probabilities);
        } else {
            cancelChecks(s);
            complete(s, s.heldResult.decided(reason, message, probabilities));
        }
    }

    /** Drops the checks still out for {@code s}: its outcome is decided. */
    private void cancelChecks(Sequence s) {
        for (Sequence check : s.checks) {
            scheduler.remove(check);
        }
        s.checks.clear();
    }

    private static int longestStop(SamplingParams p) {
        int longest = 0;
        for (String stop : p.stopStrings()) {
            longest = Math.max(longest, stop.length());
        }
        return longest;
    }

    /**
     * Ends a request: exports its KV if asked, releases its blocks, completes its future. A check hands its
     * result to its sequence; a sequence with streaming checks that ends normally launches its final check and
     * holds its result until every check is back.
     */
    private void finish(Sequence s, GenerationResult.FinishReason reason, String message, int stopToken,
                        float[] probabilities) {
        GenerationResult result = release(s, reason, message, stopToken, probabilities);
        if (s.isCheck()) {
            checked(s, result);
            return;
        }
        boolean ended = reason == GenerationResult.FinishReason.STOP || reason == GenerationResult.FinishReason.LENGTH;
        if (s.request.streamingCheck() != null && ended && !s.completed) {
            String failed = s.lastCheckedOutputs < s.outputCount() ? launchCheck(s) : null;
            if (failed != null) {
                cancelChecks(s);
                complete(s, result.decided(GenerationResult.FinishReason.ERROR, failed, null));
                return;
            }
            s.heldResult = result;
            if (s.checks.isEmpty()) { // the last check, at exactly this length, is already back
                complete(s, result.decided(reason, message, s.finalCheck));
            }
            return;
        }
        cancelChecks(s);
        complete(s, result);
    }

    private void complete(Sequence s, GenerationResult result) {
        if (s.completed) {
            return;
        }
        s.completed = true;
        metrics.finished(result);
        s.future.complete(result);
    }

    /** Exports a finished sequence's KV if asked, releases its blocks and makes its result. */
    private GenerationResult release(Sequence s, GenerationResult.FinishReason reason, String message, int stopToken,
                                     float[] probabilities) {
        byte[] kv = null;
        KvSnapshot kvBlocks = null;
        boolean export = s.request.exportKv() || s.request.exportKvFromBlock() >= 0;
        if (export && blocks.hasBlocks(s.id) && s.numComputed > 0) {
            // The last sampled token has no KV yet: export exactly the computed positions.
            try {
                int[] computed = s.tokens(0, s.numComputed);
                if (s.request.exportKv()) {
                    kv = runner.export(computed, blocks.blockTable(s.id));
                }
                if (s.request.exportKvFromBlock() >= 0) {
                    kvBlocks = runner.exportBlocks(computed, blocks.blockTable(s.id), s.request.exportKvFromBlock());
                }
            } catch (RuntimeException e) {
                LOG.warn("KV export of request " + s.request.requestId() + " failed", e);
                message = (message == null ? "" : message + "; ") + "KV export failed: " + e;
            }
        }
        scheduler.remove(s);
        if (s.queued) {
            s.queued = false;
            queued.decrementAndGet();
        }
        long now = System.nanoTime();
        GenerationResult.Timings timings = new GenerationResult.Timings(
                (s.admitted ? s.firstScheduledNanos : now) - s.submitNanos,
                s.firstTokenNanos == 0 ? 0 : s.firstTokenNanos - s.submitNanos,
                now - s.submitNanos,
                s.firstScheduledStep == 0 ? Math.max(0, steps - s.arrivalStep) : s.firstScheduledStep - s.arrivalStep - 1,
                s.firstTokenStep == 0 ? 0 : s.firstTokenStep - s.arrivalStep);
        int cached = s.admitted ? s.cachedPromptTokens : 0;
        return new GenerationResult(s.request.requestId(), s.outputTokens(), reason, stopToken,
                message, s.promptLength, cached, s.admitted ? s.promptLength - cached : 0, timings,
                probabilities, kv, kvBlocks);
    }

    private void cancelInbox() {
        for (Sequence s; (s = inbox.poll()) != null; ) {
            finish(s, GenerationResult.FinishReason.CANCELLED, "engine closed", -1, null);
        }
    }

    /**
     * Engine settings. The KV pool is given in blocks or in bytes of backend memory (converted
     * with {@link KvCache#bytesPerBlock()}); defaults: 1,024 blocks of 16 tokens, 512 tokens per
     * step, 64 running sequences, 1,024 queued requests, prefix caching on, {@link Fairness#FAIR} with every
     * tenant's weight 1.
     */
    public static final class Builder {
        private final Backend backend;
        private int kvBlocks;
        private long kvBytes;
        private int blockSize = 16;
        private int maxBatchTokens = 512;
        private int maxRunningSequences = 64;
        private int maxQueuedRequests = 1024;
        private boolean prefixCaching = true;
        private Function<int[], String> detokenizer;
        private Glm4Tokenizer tokenizer;
        private EngineMetricsListener metricsListener;
        private Fairness fairness = Fairness.FAIR;
        private Map<String, Double> tenantWeights = Map.of();

        private Builder(Backend backend) {
            this.backend = Objects.requireNonNull(backend, "backend");
        }

        public Builder kvBlocks(int blocks) {
            this.kvBlocks = positive("kvBlocks", blocks);
            return this;
        }

        public Builder kvBytes(long bytes) {
            if (bytes <= 0) {
                throw new IllegalArgumentException("kvBytes must be positive but is " + bytes);
            }
            this.kvBytes = bytes;
            return this;
        }

        public Builder blockSize(int tokens) {
            this.blockSize = positive("blockSize", tokens);
            return this;
        }

        public Builder maxBatchTokens(int tokens) {
            this.maxBatchTokens = positive("maxBatchTokens", tokens);
            return this;
        }

        public Builder maxRunningSequences(int sequences) {
            this.maxRunningSequences = positive("maxRunningSequences", sequences);
            return this;
        }

        public Builder maxQueuedRequests(int requests) {
            this.maxQueuedRequests = positive("maxQueuedRequests", requests);
            return this;
        }

        public Builder prefixCaching(boolean enabled) {
            this.prefixCaching = enabled;
            return this;
        }

        /** Needed only for requests with stop strings. */
        public Builder detokenizer(Function<int[], String> detokenizer) {
            this.detokenizer = detokenizer;
            return this;
        }

        /**
         * The model's tokenizer: needed for requests with an output {@link io.flinkglm.runtime.constraint.Constraint}
         * (their masks walk its tokens' bytes), and the detokenizer for stop strings unless one is set.
         */
        public Builder tokenizer(Glm4Tokenizer tokenizer) {
            this.tokenizer = tokenizer;
            return this;
        }

        /** How waiting requests of one priority are ordered; FAIR by default (with one tenant it is FCFS). */
        public Builder fairness(Fairness fairness) {
            this.fairness = Objects.requireNonNull(fairness, "fairness");
            return this;
        }

        /**
         * Shares under {@link Fairness#FAIR}: a tenant of weight 3 is served three times the tokens of one of
         * weight 1 while both have work. Unlisted tenants (and the default tenant, {@code ""}) weigh 1.
         */
        public Builder tenantWeights(Map<String, Double> weights) {
            for (Map.Entry<String, Double> w : weights.entrySet()) {
                if (!(w.getValue() > 0) || w.getValue().isInfinite()) {
                    throw new IllegalArgumentException("tenant " + w.getKey() + " has weight " + w.getValue()
                            + "; weights must be positive and finite");
                }
            }
            this.tenantWeights = Map.copyOf(weights);
            return this;
        }

        public Builder metricsListener(EngineMetricsListener listener) {
            this.metricsListener = listener;
            return this;
        }

        public InferenceEngine build() {
            if (kvBlocks > 0 && kvBytes > 0) {
                throw new IllegalArgumentException("set the KV pool as kvBlocks or as kvBytes, not both");
            }
            int blocks = kvBlocks > 0 ? kvBlocks : 1024;
            if (kvBytes > 0) {
                long perBlock;
                try (KvCache probe = backend.newKvCache(1, blockSize)) {
                    perBlock = probe.bytesPerBlock();
                }
                if (kvBytes < perBlock) {
                    throw new IllegalArgumentException("kvBytes " + kvBytes + " is less than one KV block of "
                            + blockSize + " tokens (" + perBlock + " bytes for this model)");
                }
                blocks = (int) Math.min(Integer.MAX_VALUE, kvBytes / perBlock);
            }
            return new InferenceEngine(this, blocks);
        }

        private static int positive(String name, int value) {
            if (value <= 0) {
                throw new IllegalArgumentException(name + " must be positive but is " + value);
            }
            return value;
        }
    }
}
