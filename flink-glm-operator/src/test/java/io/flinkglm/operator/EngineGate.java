package io.flinkglm.operator;

import org.apache.flink.configuration.Configuration;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Holds the JVM's shared engine ({@link GlmOptions#SHARED_ENGINE}) between two steps, so that turns
 * submitted meanwhile stay in flight until the test opens the gate: a deterministic way to take a
 * savepoint with every turn still pending. Its own lease keeps the engine open across jobs.
 */
final class EngineGate implements AutoCloseable {
    private final GlmWorker lease;
    private final CountDownLatch held = new CountDownLatch(1);
    private final CountDownLatch opened = new CountDownLatch(1);

    private EngineGate(GlmWorker lease) {
        this.lease = lease;
    }

    /** Closes the gate on the shared engine of {@code config}; returns once the engine thread waits at it. */
    static EngineGate shut(Configuration config) throws InterruptedException {
        Configuration shared = new Configuration(config);
        shared.set(GlmOptions.SHARED_ENGINE, true);
        EngineGate gate = new EngineGate(GlmWorker.acquire(shared, "engine-gate"));
        // The snapshot's callback runs on the engine thread if attached before the engine completes
        // it; if it lost that race it ran here instead, and the gate tries again.
        while (!gate.held.await(50, TimeUnit.MILLISECONDS)) {
            gate.lease.engine().metricsBetweenSteps().thenRun(gate::holdIfEngineThread);
        }
        return gate;
    }

    private void holdIfEngineThread() {
        if (!Thread.currentThread().getName().startsWith("glm-engine")) {
            return;
        }
        held.countDown();
        try {
            opened.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Turns submitted to the held engine and not started. */
    int waitingTurns() {
        return lease.engine().queuedRequests();
    }

    void open() {
        opened.countDown();
    }

    @Override
    public void close() {
        open();
        lease.close();
    }
}
