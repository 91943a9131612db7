package io.flinkglm.runtime.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The engine's per-request state: prompt and output tokens in one array, and how many of them have
 * KV ({@code numComputed}). Prefill and decode are not modes: a sequence simply has
 * {@code length - numComputed} tokens still to compute, one when it is decoding. Preemption sets
 * {@code numComputed} back to 0 and keeps the tokens, which are then prefilled again.
 *
 * <p>Touched only by the engine thread, except {@link #cancelRequested}.
 */
final class Sequence {
    /** The tenant of requests that name none: they share one. */
    static final String DEFAULT_TENANT = "";

    final long id;                      // also the arrival order
    final GenerationRequest request;
    final KvTransfer.Imported imported; // checked at submit; null when none
    final CompletableFuture<GenerationResult> future = new CompletableFuture<>();
    final long submitNanos;
    final int promptLength;
    volatile boolean cancelRequested;

    private int[] tokens;               // [capacity] prompt then output; valid up to length
    int length;
    int numComputed;
    boolean queued = true;              // counts against the queue capacity until first admitted
    boolean preempted;                  // waiting again after preemption: front of its priority class
    boolean admitted;
    int cachedPromptTokens;
    long firstScheduledNanos;
    long arrivalStep;                   // engine steps completed when it reached the scheduler
    long firstScheduledStep;            // the step (1-based) that first ran it; 0 until then
    long firstTokenStep;                // the step that produced its first token; 0 until then
    long firstTokenNanos;
    long lastTokenNanos;
    int constraintState;                // the constraint's automaton state after the output; unused without one

    // Streaming moderation (a request with a StreamingCheck, and the check requests it spawns).
    final Sequence checkOf;             // for a check: the generating sequence it classifies; else null
    final int checkedOutputs;           // for a check: the output tokens it covers
    boolean firstCheck;                 // for a check: the first of its sequence (it computes the prefix too)
    final List<Sequence> checks = new ArrayList<>(); // checks of this sequence not yet back
    int lastCheckedOutputs = -1;        // output tokens covered by the latest check launched; -1 before the first
    int[] checkPrefix;                  // the check's prefix padded to whole KV blocks, made at the first check
    GenerationResult heldResult;        // generation ended: the result, waiting for its checks
    float[] finalCheck;                 // probabilities of the check covering the most output so far
    int finalCheckOutputs = -1;
    boolean completed;                  // the future has been completed

    Sequence(long id, GenerationRequest request, KvTransfer.Imported imported, long submitNanos) {
        this(id, request, imported, submitNanos, null, 0);
    }

    /** A check of {@code checkOf}'s first {@code checkedOutputs} output tokens. */
    Sequence(long id, GenerationRequest request, KvTransfer.Imported imported, long submitNanos, Sequence checkOf,
             int checkedOutputs) {
        this.id = id;
        this.checkOf = checkOf;
        this.checkedOutputs = checkedOutputs;
        this.request = request;
        this.imported = imported;
        this.submitNanos = submitNanos;
        this.promptLength = request.promptTokens().length;
        this.tokens = Arrays.copyOf(request.promptTokens(),
                promptLength + Math.min(request.sampling().maxTokens(), 256));
        this.length = promptLength;
        this.constraintState = request.constraint() == null ? 0 : request.constraint().startState();
    }

    String tenant() {
        return request.tenant() == null ? DEFAULT_TENANT : request.tenant();
    }

    boolean isCheck() {
        return checkOf != null;
    }

    int remaining() {
        return length - numComputed;
    }

    int outputCount() {
        return length - promptLength;
    }

    /** The token array itself (read-only for callers); positions past {@link #length} are garbage. */
    int[] tokenArray() {
        return tokens;
    }

    int[] tokens(int from, int to) {
        return Arrays.copyOfRange(tokens, from, to);
    }

    int[] outputTokens() {
        return Arrays.copyOfRange(tokens, promptLength, length);
    }

    void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[length++] = token;
    }

    @Override
    public String toString() {
        return "request " + request.requestId() + " (" + length + " tokens, " + numComputed + " computed)";
    }
}
