package io.flinkglm.runtime.backend.cpu;

import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.InferenceEngine;
import io.flinkglm.runtime.engine.SamplingParams;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.testing.TinyModels;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The CPU worker pool belongs to its backend: on a TaskManager, a worker thread that outlived its job
 * would keep the job's classloader, and with it every class and model, alive (issue 20).
 */
class CpuWorkerLifecycleTest {
    private static final long DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(10);
    private final Glm4Model model = TinyModels.small(1);

    @Test
    void noGlmThreadOutlivesTheLastEngineAndANewEngineStillWorks() throws Exception {
        // Other tests in this JVM may hold backends of their own: only threads started here count.
        Set<Thread> before = glmThreads();
        int[] first;
        try (CpuBackend backend = new CpuBackend(model, Kernels.BEST, 3);
             InferenceEngine a = InferenceEngine.builder(backend).kvBlocks(64).build();
             InferenceEngine b = InferenceEngine.builder(backend).kvBlocks(64).build()) {
            assertThat(started(before)).filteredOn(t -> t.getName().startsWith(Parallel.THREAD_PREFIX)).hasSize(2);
            first = generate(a);
            assertThat(generate(b)).containsExactly(first);
        }
        awaitGone(before);

        try (CpuBackend again = new CpuBackend(model, Kernels.BEST, 3);
             InferenceEngine engine = InferenceEngine.builder(again).kvBlocks(64).build()) {
            assertThat(generate(engine)).containsExactly(first);
        }
        awaitGone(before);
    }

    @Test
    void workersAreDaemonsThatHoldNoContextClassLoader() {
        try (Parallel pool = new Parallel(2)) {
            Thread worker = started(Set.of()).stream()
                    .filter(t -> t.getName().startsWith(Parallel.THREAD_PREFIX)).findFirst().orElseThrow();
            assertThat(worker.isDaemon()).isTrue();
            assertThat(worker.getContextClassLoader()).isNull();
            assertThat(pool.threads()).isEqualTo(2);
        }
    }

    @Test
    void theDefaultThreadCountSharesTheCoresBetweenOpenPools() {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty("flinkglm.threads") == null);
        int cores = Runtime.getRuntime().availableProcessors();
        int alone = Parallel.defaultThreads();
        try (Parallel one = new Parallel(1); Parallel two = new Parallel(1)) {
            // Two more pools open: the next gets the cores shared three more ways than before.
            assertThat(Parallel.defaultThreads()).isLessThanOrEqualTo(Math.max(1, cores / 3)).isLessThanOrEqualTo(alone);
        }
        assertThat(Parallel.defaultThreads()).isEqualTo(alone);
    }

    private static int[] generate(InferenceEngine engine) throws Exception {
        int[] prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        SamplingParams params = SamplingParams.builder().temperature(0.9).seed(11).maxTokens(8).build();
        GenerationResult r = engine.submit(GenerationRequest.builder("r", prompt).sampling(params).build())
                .result().get(30, TimeUnit.SECONDS);
        return r.outputTokens();
    }

    private static Set<Thread> glmThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("glm-") && t.isAlive()).collect(Collectors.toSet());
    }

    private static List<Thread> started(Set<Thread> before) {
        return glmThreads().stream().filter(t -> !before.contains(t)).toList();
    }

    /** Polls: a stopped thread is gone once the JVM has noticed, not at a known instant. */
    private static void awaitGone(Set<Thread> before) throws InterruptedException {
        long deadline = System.nanoTime() + DEADLINE_NANOS;
        List<Thread> left;
        while (!(left = started(before)).isEmpty()) {
            assertThat(System.nanoTime()).as("glm-* threads still alive: %s", left).isLessThan(deadline);
            Thread.sleep(10); // polling interval; the condition decides
        }
    }
}
