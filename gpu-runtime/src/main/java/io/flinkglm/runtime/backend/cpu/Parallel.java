package io.flinkglm.runtime.backend.cpu;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.IntConsumer;

/**
 * A pool of worker threads that splits independent work items over the CPU's cores. Work items
 * never share an output element, so results do not depend on the thread count or on which thread
 * ran what.
 *
 * <p>The pool has a lifecycle: its owner (a {@link CpuBackend}) closes it, and {@link #close} stops
 * and joins every worker. On a Flink TaskManager this matters: a thread that outlives its job keeps
 * the job's user classloader (its context classloader, and every class its work captured) alive, so
 * each cancelled or failed-over job would leak its classes and whatever they reference until
 * metaspace runs out. Nothing here is static except the count of open pools, which pins nothing.
 *
 * <p>A decode step hands out about a hundred small jobs (one per matrix); waking a parked thread for
 * each costs tens of microseconds, a sizeable share of a 0.5 ms matrix. So the workers spin for a
 * short while after each job before they park, as llama.cpp's threads do, and the next job finds
 * them awake. One forward step at a time uses the pool; a second caller (another engine on the same
 * backend) runs its items on its own thread rather than waiting.
 *
 * <pre>{@code
 * try (Parallel pool = new Parallel(Parallel.defaultThreads())) {
 *     pool.forEach(rows, r -> out[r] = dot(w, r, x));
 * }
 * }</pre>
 */
public final class Parallel implements AutoCloseable {
    /** Prefix of every worker's name, so a thread dump (or a leak test) can find them. */
    public static final String THREAD_PREFIX = "glm-cpu-";
    /** How long an idle worker spins before parking: covers the gap between two matrices of a step. */
    private static final long SPIN_NANOS = 200_000;
    /** Pools open in this JVM; {@link #defaultThreads} divides the cores between them. */
    private static final AtomicInteger OPEN = new AtomicInteger();
    private static final AtomicInteger IDS = new AtomicInteger();

    private final int threads;
    private final Thread[] workers;
    private final ReentrantLock owner = new ReentrantLock();
    private volatile Job current;
    private volatile boolean closed;

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

    /**
     * Starts {@code threads - 1} daemon workers (the caller of {@link #forEach} is the last thread).
     *
     * @param threads at least 1; 1 runs everything on the caller's thread
     */
    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("a CPU pool needs at least 1 thread, got " + threads);
        }
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        int id = IDS.getAndIncrement();
        OPEN.incrementAndGet();
        for (int w = 0; w < workers.length; w++) {
            workers[w] = new Thread(this::workerLoop, THREAD_PREFIX + id + "-" + w);
            workers[w].setDaemon(true);
            // The creating thread's context loader (a Flink job's user classloader) must not be
            // kept by a worker; the workers load no classes by name.
            workers[w].setContextClassLoader(null);
            workers[w].start();
        }
    }

    /**
     * The thread count for a new pool when none is configured: {@code -Dflinkglm.threads=N} when
     * set, else this JVM's available cores divided by the pools already open plus this one, so
     * that several backends in one TaskManager do not each claim every core.
     */
    public static int defaultThreads() {
        Integer forced = Integer.getInteger("flinkglm.threads");
        if (forced != null) {
            return Math.max(1, forced);
        }
        return Math.max(1, Runtime.getRuntime().availableProcessors() / (OPEN.get() + 1));
    }

    /**
     * The threads one backend alone gets on this machine ({@code -Dflinkglm.threads=N}, else every
     * core), whatever pools are open: what a probe that measures the machine for that backend uses.
     */
    public static int machineThreads() {
        Integer forced = Integer.getInteger("flinkglm.threads");
        return Math.max(1, forced != null ? forced : Runtime.getRuntime().availableProcessors());
    }

    /** Threads that run a {@link #forEach}, the caller's included. */
    public int threads() {
        return threads;
    }

    /** Runs {@code body} for 0..items-1; the calling thread takes part. */
    public void forEach(int items, IntConsumer body) {
        if (items <= 0) {
            return;
        }
        if (workers.length == 0 || items == 1 || closed || !owner.tryLock()) {
            for (int i = 0; i < items; i++) {
                body.accept(i);
            }
            return;
        }
        try {
            Job job = new Job(items, body);
            current = job;
            for (Thread w : workers) {
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
            owner.unlock();
        }
    }

    /**
     * Stops the workers and waits for them to end (they are idle unless a step is running, which
     * the owner has finished before closing). Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        current = null; // the last job's body references the backend: let it go with the pool
        OPEN.decrementAndGet();
        for (Thread w : workers) {
            LockSupport.unpark(w);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        for (Thread w : workers) {
            long left = deadline - System.nanoTime();
            try {
                if (left > 0) {
                    w.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void workerLoop() {
        Job last = null;
        while (!closed) {
            long idleSince = System.nanoTime();
            Job job;
            while ((job = current) == last && !closed) {
                if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            if (job == null || closed) {
                return;
            }
            last = job;
            job.work();
        }
    }
}
