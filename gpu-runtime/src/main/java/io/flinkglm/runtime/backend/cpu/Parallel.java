package io.flinkglm.runtime.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * Splits independent work items over the CPU's cores. Work items never share an output element,
 * so results do not depend on the thread count or on which thread ran what.
 * {@code -Dflinkglm.threads=N} sets the thread count (default: all cores).
 *
 * <p>A decode step hands out about a hundred small jobs (one per matrix); waking a parked thread for
 * each costs tens of microseconds, a sizeable share of a 0.5 ms matrix. So the workers spin for a
 * short while after each job before they park, as llama.cpp's threads do, and the next job finds
 * them awake. One forward step at a time uses the pool; a second caller (another engine in the same
 * JVM) runs its items on its own thread rather than waiting.
 *
 * <p>Public for the benchmarks (the tools package, in the test-jar), whose probes load the cores as
 * the forward pass does.
 */
public final class Parallel {
    public static final int THREADS = Math.max(1, Integer.getInteger("flinkglm.threads",
            Runtime.getRuntime().availableProcessors()));
    /** How long an idle worker spins before parking: covers the gap between two matrices of a step. */
    private static final long SPIN_NANOS = 200_000;

    private static final ReentrantLock OWNER = new ReentrantLock();
    private static final Thread[] WORKERS = new Thread[THREADS - 1];
    private static volatile Job current;

    /** One call's items; workers that arrive late find nothing left and go back to waiting. */
    private static final class Job {
        final int items;
        final IntConsumer body;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Job(int items, IntConsumer body) {
            this.items = items;
            this.body = body;
        }

        void work() {
            for (int i; (i = next.getAndIncrement()) < items; ) {
                try {
                    body.accept(i);
                } catch (Throwable t) {
                    failure = t;
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    static {
        for (int w = 0; w < WORKERS.length; w++) {
            WORKERS[w] = new Thread(Parallel::workerLoop, "glm-cpu-" + w);
            WORKERS[w].setDaemon(true);
            WORKERS[w].start();
        }
    }

    private Parallel() {}

    /** Runs {@code body} for 0..items-1; the calling thread takes part. */
    public static void forEach(int items, IntConsumer body) {
        if (items <= 0) {
            return;
        }
        if (WORKERS.length == 0 || items == 1 || !OWNER.tryLock()) {
            for (int i = 0; i < items; i++) {
                body.accept(i);
            }
            return;
        }
        try {
            Job job = new Job(items, body);
            current = job;
            for (Thread w : WORKERS) {
                LockSupport.unpark(w);
            }
            job.work();
            while (job.done.get() < items) {
                Thread.onSpinWait();
            }
            Throwable failure = job.failure;
            if (failure instanceof RuntimeException r) {
                throw r;
            }
            if (failure instanceof Error e) {
                throw e;
            }
            if (failure != null) {
                throw new IllegalStateException(failure);
            }
        } finally {
            OWNER.unlock();
        }
    }

    private static void workerLoop() {
        Job last = null;
        while (true) {
            long idleSince = System.nanoTime();
            Job job;
            while ((job = current) == last) {
                if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(Parallel.class);
                }
            }
            last = job;
            job.work();
        }
    }
}
