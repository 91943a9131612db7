package io.flinkglm.runtime.engine;

import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * Collects what {@link EngineMetrics} reports. Written by the engine thread, read by any thread
 * asking for a snapshot, hence synchronized (a few calls per step, never contended for long).
 */
final class MetricsRecorder {
    /** Requests (and steps) the percentiles look back over. */
    static final int WINDOW = 1024;
    private static final long THROUGHPUT_WINDOW_NANOS = 10_000_000_000L;

    private final Window ttft = new Window();
    private final Window tpot = new Window();
    private final Window queue = new Window();
    private final Window batchTokens = new Window();
    private final ArrayDeque<long[]> recentSteps = new ArrayDeque<>(); // {endNanos, tokens generated}
    private long steps;
    private long preemptions;
    private long generated;
    private long finished;
    private long promptTokens;
    private long reusedPromptTokens;
    private int lastBatchTokens;
    private int lastBatchSequences;
    private int running;
    private int waiting;
    private int blocksTotal;
    private int blocksUsed;
    private int blocksFree;
    private int blocksCached;
    private long checks;
    private long checkTokens;
    private int laterCheckTokensMax;

    synchronized void step(long nowNanos, int tokens, int sequences, int generatedTokens, int preempted) {
        steps++;
        preemptions += preempted;
        generated += generatedTokens;
        lastBatchTokens = tokens;
        lastBatchSequences = sequences;
        batchTokens.add(tokens);
        recentSteps.addLast(new long[] {nowNanos, generatedTokens});
        while (recentSteps.size() > 1 && nowNanos - recentSteps.peekFirst()[0] > THROUGHPUT_WINDOW_NANOS) {
            recentSteps.pollFirst();
        }
    }

    /** The gauges, as the engine thread saw them at the end of a step. */
    synchronized void gauges(int running, int waiting, KvBlockManager blocks) {
        this.running = running;
        this.waiting = waiting;
        this.blocksTotal = blocks.numBlocks();
        this.blocksUsed = blocks.usedBlocks();
        this.blocksFree = blocks.freeBlocks();
        this.blocksCached = blocks.cachedBlocks();
    }

    synchronized void admitted(int prompt, int reused) {
        promptTokens += prompt;
        reusedPromptTokens += reused;
    }

    /** A finished streaming check and the prompt tokens it computed. */
    synchronized void checked(int computedTokens, boolean first) {
        checks++;
        checkTokens += computedTokens;
        if (!first) {
            laterCheckTokensMax = Math.max(laterCheckTokensMax, computedTokens);
        }
    }

    /** A finished request's latencies; ttft 0 when it produced no token. */
    synchronized void finished(GenerationResult r) {
        finished++;
        GenerationResult.Timings t = r.timings();
        queue.add(t.queueNanos());
        if (t.firstTokenNanos() > 0) {
            ttft.add(t.firstTokenNanos());
            int outputs = r.outputTokens().length;
            if (outputs > 1) {
                tpot.add((t.totalNanos() - t.firstTokenNanos()) / (outputs - 1));
            }
        }
    }

    synchronized EngineMetrics snapshot() {
        double seconds = recentSteps.size() < 2 ? 0
                : (recentSteps.peekLast()[0] - recentSteps.peekFirst()[0]) / 1e9;
        long windowTokens = 0;
        boolean first = true;
        for (long[] s : recentSteps) {
            if (!first) { // tokens of the first step were made before the window's start
                windowTokens += s[1];
            }
            first = false;
        }
        return new EngineMetrics(
                ttft.percentileMs(50), ttft.percentileMs(99),
                tpot.percentileMs(50), tpot.percentileMs(99),
                queue.percentileMs(50), queue.percentileMs(99),
                running, waiting,
                lastBatchTokens, lastBatchSequences, batchTokens.mean(),
                blocksTotal, blocksUsed, blocksFree, blocksCached,
                promptTokens == 0 ? 0 : (double) reusedPromptTokens / promptTokens,
                preemptions,
                generated, seconds == 0 ? 0 : windowTokens / seconds,
                finished,
                steps,
                checks, checkTokens, laterCheckTokensMax);
    }

    /** The last {@link #WINDOW} values of one measurement. */
    private static final class Window {
        private final long[] values = new long[WINDOW];
        private int count;
        private int next;

        void add(long v) {
            values[next] = v;
            next = (next + 1) % WINDOW;
            count = Math.min(count + 1, WINDOW);
        }

        double percentileMs(double p) {
            if (count == 0) {
                return 0;
            }
            long[] sorted = Arrays.copyOf(values, count);
            Arrays.sort(sorted);
            int rank = (int) Math.ceil(p / 100 * count) - 1; // nearest-rank percentile
            return sorted[Math.max(0, Math.min(count - 1, rank))] / 1e6;
        }

        double mean() {
            if (count == 0) {
                return 0;
            }
            long sum = 0;
            for (int i = 0; i < count; i++) {
                sum += values[i];
            }
            return (double) sum / count;
        }
    }
}
