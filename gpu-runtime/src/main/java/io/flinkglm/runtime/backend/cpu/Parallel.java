package io.flinkglm.runtime.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * Splits independent work items over the CPU's cores. Work items never share an output element,
 * so results do not depend on the thread count or on which thread ran what.
 * {@code -Dflinkglm.threads=N} sets the thread count (default: all cores).
 */
final class Parallel {
    static final int THREADS = Math.max(1, Integer.getInteger("flinkglm.threads",
            Runtime.getRuntime().availableProcessors()));
    private static final ForkJoinPool POOL = THREADS == 1 ? null : new ForkJoinPool(THREADS - 1,
            pool -> {
                var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
                t.setName("glm-cpu-" + t.getPoolIndex());
                t.setDaemon(true);
                return t;
            }, null, false);

    private Parallel() {}

    /** Runs {@code body} for 0..items-1; the calling thread takes part. */
    static void forEach(int items, IntConsumer body) {
        if (items <= 0) {
            return;
        }
        int helpers = Math.min(THREADS, items) - 1;
        if (helpers <= 0) {
            for (int i = 0; i < items; i++) {
                body.accept(i);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable worker = () -> {
            for (int i; (i = next.getAndIncrement()) < items; ) {
                body.accept(i);
            }
        };
        ForkJoinTask<?>[] tasks = new ForkJoinTask<?>[helpers];
        for (int h = 0; h < helpers; h++) {
            tasks[h] = POOL.submit(worker);
        }
        worker.run();
        for (ForkJoinTask<?> task : tasks) {
            task.join();
        }
    }
}
