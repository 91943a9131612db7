package io.flinkglm.runtime.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Iteration-level continuous batching in vLLM v1's style. Each step has a token budget; every
 * sequence simply has {@code length - numComputed} tokens left to compute, and the scheduler hands
 * out budget:
 * <ol>
 *   <li>running sequences that are decoding (one token left) first, so a long prompt never stalls them;
 *   <li>then running sequences part-way through their prompt (chunked prefill);
 *   <li>then waiting sequences, by priority and arrival, starting from their longest cached prefix.
 * </ol>
 * When the KV pool runs out, the running sequence with the lowest priority (latest arrival on ties)
 * is preempted by recompute: its blocks are freed and it goes back to the front of its priority's
 * queue with its generated tokens, to be prefilled again. A sequence that cannot fit even in an
 * otherwise empty pool is rejected instead, so the loop can never deadlock.
 *
 * <pre>{@code
 * Scheduler scheduler = new Scheduler(new KvBlockManager(256, 16, true), 512, 64);
 * scheduler.add(sequence);
 * SchedulerOutput step = scheduler.schedule(System.nanoTime());
 * scheduler.update(step);  // after the model ran it
 * }</pre>
 */
final class Scheduler {
    /** Priority first (lower sooner), preempted before new within a priority, then arrival. */
    private static final Comparator<Sequence> QUEUE_ORDER = Comparator
            .comparingInt((Sequence s) -> s.request.priority())
            .thenComparing(s -> !s.preempted)
            .thenComparingLong(s -> s.id);

    private final KvBlockManager blocks;
    private final int maxBatchTokens;
    private final int maxRunning;
    private final TreeSet<Sequence> waiting = new TreeSet<>(QUEUE_ORDER);
    private final List<Sequence> running = new ArrayList<>();
    private final Map<Long, Sequence> byId = new HashMap<>();

    Scheduler(KvBlockManager blocks, int maxBatchTokens, int maxRunning) {
        this.blocks = blocks;
        this.maxBatchTokens = maxBatchTokens;
        this.maxRunning = maxRunning;
    }

    void add(Sequence s) {
        byId.put(s.id, s);
        waiting.add(s);
    }

    Sequence get(long id) {
        return byId.get(id);
    }

    /** Every sequence not yet finished, waiting and running. */
    List<Sequence> sequences() {
        List<Sequence> all = new ArrayList<>(running);
        all.addAll(waiting);
        return all;
    }

    int waitingCount() {
        return waiting.size();
    }

    int runningCount() {
        return running.size();
    }

    boolean hasWork() {
        return !waiting.isEmpty() || !running.isEmpty();
    }

    KvBlockManager blocks() {
        return blocks;
    }

    /** Forgets a finished sequence and releases its blocks. */
    void remove(Sequence s) {
        waiting.remove(s);
        running.remove(s);
        byId.remove(s.id);
        blocks.free(s.id);
    }

    SchedulerOutput schedule(long nowNanos) {
        int budget = maxBatchTokens;
        List<SchedulerOutput.Chunk> chunks = new ArrayList<>();
        List<SchedulerOutput.BlockImport> imports = new ArrayList<>();
        List<SchedulerOutput.Rejection> rejections = new ArrayList<>();
        Set<Sequence> scheduled = new HashSet<>();
        int preemptions = 0;

        List<Sequence> order = new ArrayList<>(running);
        order.sort(Comparator.comparing(s -> s.remaining() > 1)); // stable: decodes first, then prefills
        for (Sequence s : order) {
            if (budget == 0) {
                break;
            }
            if (!running.contains(s)) {
                continue; // preempted earlier in this step
            }
            int n = Math.min(s.remaining(), budget);
            boolean fits;
            while (!(fits = blocks.ensureCapacity(s.id, s.numComputed + n))) {
                if (running.size() == 1) {
                    running.remove(s);
                    rejections.add(new SchedulerOutput.Rejection(s.id, tooLarge(s, s.numComputed + n)));
                    break;
                }
                Sequence victim = victim(scheduled);
                preempt(victim);
                preemptions++;
                if (victim == s) {
                    break;
                }
            }
            if (fits) {
                chunks.add(chunk(s, n));
                scheduled.add(s);
                budget -= n;
            }
        }

        // Admitting while preempting would only evict the newcomer again next step (vLLM does the same).
        while (preemptions == 0 && budget > 0 && running.size() < maxRunning && !waiting.isEmpty()) {
            Sequence s = waiting.first();
            if (blocks.blocksFor(s.length) > blocks.numBlocks()) {
                waiting.pollFirst();
                rejections.add(new SchedulerOutput.Rejection(s.id, tooLarge(s, s.length)));
                continue;
            }
            int bs = blocks.blockSize();
            // Keep at least one token to compute: its logits choose the next token.
            KvBlockManager.PrefixHit hit = blocks.findCachedPrefix(s.tokenArray(), s.length - 1);
            int computed = hit.tokens(bs);
            if (s.imported != null) {
                int t = s.imported.tokens().length;
                computed = Math.max(computed, t < s.length ? t : (s.length - 1) / bs * bs);
            }
            int n = Math.min(s.length - computed, budget);
            if (!blocks.allocate(s.id, hit, computed + n)) {
                break; // wait for running sequences to free blocks
            }
            int[] table = blocks.blockTable(s.id);
            for (int j = hit.blocks().length; j * bs < computed; j++) {
                imports.add(new SchedulerOutput.BlockImport(s.imported, j, table[j]));
            }
            waiting.pollFirst();
            s.preempted = false;
            s.numComputed = computed;
            if (!s.admitted) {
                s.admitted = true;
                s.cachedPromptTokens = Math.min(computed, s.promptLength);
                s.firstScheduledNanos = nowNanos;
            }
            running.add(s);
            chunks.add(chunk(s, n));
            budget -= n;
        }
        return new SchedulerOutput(chunks, imports, rejections, preemptions);
    }

    /** Advances each scheduled sequence past the tokens it just computed and caches its full blocks. */
    void update(SchedulerOutput step) {
        for (SchedulerOutput.Chunk c : step.chunks()) {
            Sequence s = byId.get(c.sequenceId());
            if (s != null && blocks.hasBlocks(s.id)) {
                s.numComputed = c.startPosition() + c.tokens().length;
                blocks.cacheFullBlocks(s.id, s.tokenArray(), s.numComputed);
            }
        }
    }

    private SchedulerOutput.Chunk chunk(Sequence s, int n) {
        int end = s.numComputed + n;
        SchedulerOutput.Sample sample = end < s.length ? null : new SchedulerOutput.Sample(
                s.request.sampling(), s.tokens(0, s.length), s.length, s.request.classifyTokenIds());
        return new SchedulerOutput.Chunk(s.id, s.tokens(s.numComputed, end), s.numComputed,
                blocks.blockTable(s.id), sample);
    }

    /** The running sequence not yet scheduled this step with the lowest priority, latest arrival on ties. */
    private Sequence victim(Set<Sequence> scheduled) {
        Sequence worst = null;
        for (Sequence s : running) {
            if (!scheduled.contains(s) && (worst == null || QUEUE_ORDER.compare(s, worst) > 0)) {
                worst = s;
            }
        }
        return worst;
    }

    private void preempt(Sequence s) {
        running.remove(s);
        blocks.free(s.id);
        s.numComputed = 0;
        s.preempted = true;
        waiting.add(s);
    }

    private String tooLarge(Sequence s, int tokens) {
        return "request " + s.request.requestId() + " needs KV for " + tokens + " tokens ("
                + blocks.blocksFor(tokens) + " blocks of " + blocks.blockSize() + ") but the whole pool has "
                + blocks.numBlocks() + " blocks; build the engine with more kvBlocks/kvBytes or shorten the request";
    }
}
