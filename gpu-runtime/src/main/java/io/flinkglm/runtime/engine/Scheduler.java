package io.flinkglm.runtime.engine;

import java.util.ArrayDeque;
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
 *   <li>then waiting sequences, by priority, then by {@link Fairness} (arrival, or the least-served tenant
 *       first), starting from their longest cached prefix.
 * </ol>
 * When the KV pool runs out, the running sequence with the lowest priority (latest arrival on ties)
 * is preempted by recompute: its blocks are freed and it goes back to the front of its priority's
 * queue with its generated tokens, to be prefilled again. A sequence that cannot fit even in an
 * otherwise empty pool is rejected instead, so the loop can never deadlock.
 *
 * <p>Priorities also preempt: before a step, while the next waiting sequence cannot be admitted because the
 * batch is full ({@code maxRunning} sequences, or too few free KV blocks for its first chunk) and a running
 * sequence has a strictly lower priority (a higher number), the lowest-priority running one is preempted the
 * same way. Within a priority, under {@link Fairness#FAIR}, a waiting sequence whose tenant runs nothing may
 * preempt one sequence of the most-served tenant that runs two or more (see {@link #preemptToAdmit()}); under
 * FCFS equal priorities never preempt each other.
 *
 * <p>Streaming-moderation checks ({@link StreamingCheck}) are admitted before every other waiting sequence
 * and outside {@code maxRunning} (each is one short prefill), and are never preempted to admit others, so a check
 * waits only for KV blocks and the step's budget: it takes the prefill share that running sequences leave,
 * in the next step, chunked like any prompt if it needs more. Recompute keeps every sequence's tokens exact: sampling depends on the seed and the
 * position only, and the forward pass is batch invariant.
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
    /** The waiting sequences again, per tenant (FAIR only): the least-served tenant's first is found in O(tenants). */
    private final Map<String, TreeSet<Sequence>> waitingByTenant = new HashMap<>();
    /** Streaming-moderation checks not yet admitted, first in first out (a preempted one in front). */
    private final ArrayDeque<Sequence> waitingChecks = new ArrayDeque<>();
    private final List<Sequence> running = new ArrayList<>();
    private final Map<Long, Sequence> byId = new HashMap<>();
    private final TenantCounters tenants; // null under FCFS

    Scheduler(KvBlockManager blocks, int maxBatchTokens, int maxRunning) {
        this(blocks, maxBatchTokens, maxRunning, Fairness.FCFS, Map.of());
    }

    Scheduler(KvBlockManager blocks, int maxBatchTokens, int maxRunning, Fairness fairness,
              Map<String, Double> tenantWeights) {
        this.blocks = blocks;
        this.maxBatchTokens = maxBatchTokens;
        this.maxRunning = maxRunning;
        this.tenants = fairness == Fairness.FAIR ? new TenantCounters(tenantWeights) : null;
    }

    void add(Sequence s) {
        byId.put(s.id, s);
        if (tenants != null) {
            tenants.arrived(s.tenant());
        }
        enqueue(s);
    }

    /** A tenant's virtual token counter (FAIR); 0 under FCFS. */
    double serviceOf(String tenant) {
        return tenants == null ? 0 : tenants.counter(tenant == null ? Sequence.DEFAULT_TENANT : tenant);
    }

    Sequence get(long id) {
        return byId.get(id);
    }

    /** Every sequence not yet finished, waiting and running. */
    List<Sequence> sequences() {
        List<Sequence> all = new ArrayList<>(running);
        all.addAll(waiting);
        all.addAll(waitingChecks);
        return all;
    }

    int waitingCount() {
        return waiting.size() + waitingChecks.size();
    }

    int runningCount() {
        return running.size();
    }

    boolean hasWork() {
        return !waiting.isEmpty() || !waitingChecks.isEmpty() || !running.isEmpty();
    }

    KvBlockManager blocks() {
        return blocks;
    }

    /** Forgets a finished sequence and releases its blocks. */
    void remove(Sequence s) {
        dequeue(s);
        running.remove(s);
        if (byId.remove(s.id) != null && tenants != null) {
            tenants.left(s.tenant());
        }
        blocks.free(s.id);
    }

    SchedulerOutput schedule(long nowNanos) {
        int budget = maxBatchTokens;
        List<SchedulerOutput.Chunk> chunks = new ArrayList<>();
        List<SchedulerOutput.BlockImport> imports = new ArrayList<>();
        List<SchedulerOutput.Rejection> rejections = new ArrayList<>();
        Set<Sequence> scheduled = new HashSet<>();
        int admissionPreemptions = preemptToAdmit();
        int preemptions = 0;

        List<Sequence> order = new ArrayList<>(running);
        // Decodes first, then prefills by priority; stable, so arrival order within a priority.
        order.sort(Comparator.comparing((Sequence s) -> s.remaining() > 1).thenComparingInt(s -> s.request.priority()));
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
                Sequence victim = victim(scheduled, true);
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
        // Checks first, outside maxRunning: a check is one short prefill that the generation it checks waits on.
        while (preemptions == 0 && budget > 0 && !waitingChecks.isEmpty()) {
            int n = admit(waitingChecks.peekFirst(), budget, nowNanos, chunks, imports, rejections);
            if (n < 0) {
                break;
            }
            budget -= n;
        }
        while (preemptions == 0 && budget > 0 && generating() < maxRunning && !waiting.isEmpty()) {
            int n = admit(nextWaiting(), budget, nowNanos, chunks, imports, rejections);
            if (n < 0) {
                break;
            }
            budget -= n;
        }
        return new SchedulerOutput(chunks, imports, rejections, preemptions + admissionPreemptions);
    }

    /**
     * Admits a waiting sequence from its longest cached prefix with a first chunk of at most {@code budget}
     * tokens; returns the chunk's tokens (0 when it was rejected as too large), or -1 when the pool cannot
     * supply its blocks yet.
     */
    private int admit(Sequence s, int budget, long nowNanos, List<SchedulerOutput.Chunk> chunks,
                      List<SchedulerOutput.BlockImport> imports, List<SchedulerOutput.Rejection> rejections) {
        if (blocks.blocksFor(s.length) > blocks.numBlocks()) {
            dequeue(s);
            rejections.add(new SchedulerOutput.Rejection(s.id, tooLarge(s, s.length)));
            return 0;
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
            return -1; // wait for running sequences to free blocks
        }
        int[] table = blocks.blockTable(s.id);
        for (int j = hit.blocks().length; j * bs < computed; j++) {
            imports.add(new SchedulerOutput.BlockImport(s.imported, j, table[j]));
        }
        dequeue(s);
        s.preempted = false;
        s.numComputed = computed;
        if (!s.admitted) {
            s.admitted = true;
            s.cachedPromptTokens = Math.min(computed, s.promptLength);
            s.firstScheduledNanos = nowNanos;
            if (tenants != null) {
                tenants.chargePrompt(s.tenant(), s.promptLength);
            }
        }
        running.add(s);
        chunks.add(chunk(s, n));
        return n;
    }

    /** Running sequences that generate (checks excluded): what {@code maxRunning} bounds. */
    private int generating() {
        int n = 0;
        for (Sequence s : running) {
            n += s.isCheck() ? 0 : 1;
        }
        return n;
    }

    /**
     * Makes room for the next waiting sequence when the batch is full ({@code maxRunning}, or too few free
     * blocks for its first chunk): preempts the lowest-priority running sequence while its priority number is
     * strictly higher; and under FAIR, when the next sequence's tenant has nothing running, one sequence of the
     * most-served tenant of its priority that runs two or more. The second rule gives every active tenant a
     * place in a full batch within a step, without thrashing: the victim's tenant keeps a running sequence, so
     * it can never preempt back, and a tenant that already runs something waits for a free place.
     *
     * @return how many were preempted
     */
    private int preemptToAdmit() {
        int preempted = 0;
        while (!waiting.isEmpty() && !running.isEmpty()) {
            Sequence next = nextWaiting();
            if ((generating() < maxRunning && firstChunkFits(next)) || blocks.blocksFor(next.length) > blocks.numBlocks()) {
                break; // it fits, or it never will (the admission below rejects it)
            }
            Sequence victim = victim(Set.of(), false);
            if (victim == null || victim.request.priority() <= next.request.priority()) {
                victim = tenants == null ? null : fairShareVictim(next);
            }
            if (victim == null) {
                break;
            }
            preempt(victim);
            preempted++;
        }
        return preempted;
    }

    /**
     * Under FAIR: for a waiting sequence whose tenant runs nothing, the running sequence of its priority that
     * is cheapest to recompute (fewest computed tokens, latest arrival on ties) of the tenant with the most
     * service among those running two or more, if that tenant has had at least as much service; else null.
     */
    private Sequence fairShareVictim(Sequence next) {
        Map<String, Integer> runningPerTenant = new HashMap<>();
        for (Sequence s : running) {
            if (!s.isCheck()) {
                runningPerTenant.merge(s.tenant(), 1, Integer::sum);
            }
        }
        if (runningPerTenant.containsKey(next.tenant())) {
            return null;
        }
        Sequence victim = null;
        double victimService = tenants.counter(next.tenant());
        for (Sequence s : running) {
            if (s.isCheck() || s.request.priority() != next.request.priority() || runningPerTenant.get(s.tenant()) < 2) {
                continue;
            }
            double service = tenants.counter(s.tenant());
            boolean better = victim == null ? service >= victimService
                    : service > victimService || (service == victimService && (s.numComputed < victim.numComputed
                            || (s.numComputed == victim.numComputed && s.id > victim.id)));
            if (better) {
                victim = s;
                victimService = service;
            }
        }
        return victim;
    }

    /** Whether the free pool holds the blocks of {@code s}'s first chunk beyond its cached prefix. */
    private boolean firstChunkFits(Sequence s) {
        KvBlockManager.PrefixHit hit = blocks.findCachedPrefix(s.tokenArray(), s.length - 1);
        int tokens = Math.min(s.length, hit.tokens(blocks.blockSize()) + maxBatchTokens);
        return blocks.blocksFor(tokens) - hit.blocks().length <= blocks.allocatableBlocks();
    }

    /**
     * The waiting sequence to admit next: the best priority class first. Under FCFS, within it, a preempted
     * sequence first (it was admitted before; finishing it frees its blocks soonest), then by arrival. Under
     * FAIR the tenant with the least service first, and its preempted sequences
     * before its new ones: a preempted sequence does not jump ahead of other tenants, or the sequence a fair
     * preemption evicted would take the place back from the tenant it was evicted for.
     */
    private Sequence nextWaiting() {
        Sequence head = waiting.first();
        if (tenants == null) {
            return head;
        }
        head = waitingByTenant.get(head.tenant()).first();
        Sequence best = head;
        double bestService = tenants.counter(head.tenant());
        for (TreeSet<Sequence> queue : waitingByTenant.values()) {
            Sequence first = queue.first();
            if (first.request.priority() != head.request.priority()) {
                continue;
            }
            double service = tenants.counter(first.tenant());
            if (service < bestService || (service == bestService && first != best && fewerRunningOrEarlier(first, best))) {
                best = first;
                bestService = service;
            }
        }
        return best;
    }

    /**
     * Equal service: the tenant with fewer sequences running first, then the earlier arrival. Ties are the
     * rule right after a tenant arrives (it is lifted to the least active counter), and the newcomer, which
     * runs nothing, should not wait behind a tenant that fills the batch.
     */
    private boolean fewerRunningOrEarlier(Sequence a, Sequence b) {
        int ra = 0;
        int rb = 0;
        for (Sequence s : running) {
            ra += s.tenant().equals(a.tenant()) ? 1 : 0;
            rb += s.tenant().equals(b.tenant()) ? 1 : 0;
        }
        return ra != rb ? ra < rb : a.id < b.id;
    }

    private void enqueue(Sequence s) {
        if (s.isCheck()) {
            if (s.preempted) {
                waitingChecks.addFirst(s);
            } else {
                waitingChecks.addLast(s);
            }
            return;
        }
        waiting.add(s);
        if (tenants != null) {
            waitingByTenant.computeIfAbsent(s.tenant(), t -> new TreeSet<>(QUEUE_ORDER)).add(s);
        }
    }

    private void dequeue(Sequence s) {
        if (s.isCheck()) {
            waitingChecks.remove(s);
            return;
        }
        if (waiting.remove(s) && tenants != null) {
            TreeSet<Sequence> queue = waitingByTenant.get(s.tenant());
            queue.remove(s);
            if (queue.isEmpty()) {
                waitingByTenant.remove(s.tenant());
            }
        }
    }

    /** Advances each scheduled sequence past the tokens it just computed and caches its full blocks. */
    void update(SchedulerOutput step) {
        for (SchedulerOutput.Chunk c : step.chunks()) {
            Sequence s = byId.get(c.sequenceId());
            if (s != null && blocks.hasBlocks(s.id)) {
                s.numComputed = c.startPosition() + c.tokens().length;
                blocks.cacheFullBlocks(s.id, s.tokenArray(), s.numComputed);
                if (tenants != null && c.sample() != null && c.sample().classifyTokenIds() == null) {
                    tenants.chargeOutput(s.tenant(), 1); // the token this chunk's logits choose
                }
            }
        }
    }

    private SchedulerOutput.Chunk chunk(Sequence s, int n) {
        int end = s.numComputed + n;
        SchedulerOutput.Sample sample = end < s.length ? null : new SchedulerOutput.Sample(
                s.request.sampling(), s.tokens(0, s.length), s.length, s.request.classifyTokenIds(),
                s.request.constraint(), s.constraintState);
        return new SchedulerOutput.Chunk(s.id, s.tokens(s.numComputed, end), s.numComputed,
                blocks.blockTable(s.id), sample);
    }

    /** The running sequence not yet scheduled this step with the lowest priority, latest arrival on ties. */
    private Sequence victim(Set<Sequence> scheduled, boolean checks) {
        Sequence worst = null;
        for (Sequence s : running) {
            if (!scheduled.contains(s) && (checks || !s.isCheck()) && (worst == null || QUEUE_ORDER.compare(s, worst) > 0)) {
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
        enqueue(s);
    }

    private String tooLarge(Sequence s, int tokens) {
        return "request " + s.request.requestId() + " needs KV for " + tokens + " tokens ("
                + blocks.blocksFor(tokens) + " blocks of " + blocks.blockSize() + ") but the whole pool has "
                + blocks.numBlocks() + " blocks; build the engine with more kvBlocks/kvBytes or shorten the request";
    }
}
