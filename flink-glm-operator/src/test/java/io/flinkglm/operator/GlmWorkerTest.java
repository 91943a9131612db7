package io.flinkglm.operator;

import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.testkit.Await;
import io.flinkglm.runtime.engine.SamplingParams;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.flinkglm.runtime.model.Glm4Model;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Leases end cleanly: when a job is cancelled or fails over, its subtasks close their workers, and
 * nothing the job's classloader loaded may keep running after the last one (issue 20's metaspace leak).
 */
class GlmWorkerTest {
    @TempDir
    Path model;

    @Test
    void afterTheLastEngineClosesNoGlmThreadIsAliveAndANewEngineWorks() throws Exception {
        Configuration config = TinyGlm.write(model, 5);
        config.set(GlmOptions.CPU_THREADS, 3);
        Set<Thread> before = glmThreads();
        int[] first;
        try (GlmWorker a = GlmWorker.acquire(config, "chat-0"); GlmWorker b = GlmWorker.acquire(config, "chat-1")) {
            assertThat(GlmWorker.openEngines()).isEqualTo(2);
            // One backend for the model path, so one pool of 3 threads (2 workers + the caller).
            assertThat(started(before)).filteredOn(t -> t.getName().startsWith("glm-cpu-")).hasSize(2);
            first = generate(a);
            assertThat(generate(b)).containsExactly(first);
        }
        assertThat(GlmWorker.openEngines()).isZero();
        awaitNoneStarted(before);

        try (GlmWorker again = GlmWorker.acquire(config, "chat-0")) {
            assertThat(generate(again)).containsExactly(first);
        }
        awaitNoneStarted(before);
    }

    @Test
    void aTaskRestartedInTheSameJvmTakesBackTheModelItsPredecessorLoaded() throws Exception {
        Configuration config = TinyGlm.write(model, 5);
        config.set(GlmOptions.CPU_THREADS, 2);
        Set<Thread> before = glmThreads();
        Glm4Model loaded;
        int[] first;
        try (GlmWorker failed = GlmWorker.acquire(config, "chat-0")) {
            loaded = failed.model();
            first = generate(failed);
        }
        assertThat(GlmWorker.keptIdle(config)).isTrue();
        awaitNoneStarted(before); // kept without its backend: no worker thread waits with it

        try (GlmWorker restarted = GlmWorker.acquire(config, "chat-0")) {
            assertThat(restarted.model()).isSameAs(loaded);
            assertThat(generate(restarted)).containsExactly(first);
        }
    }

    @Test
    void aModelWhoseFilesChangedSinceItsLastTaskIsReadAgain() throws Exception {
        Configuration config = TinyGlm.write(model, 5);
        Glm4Model loaded;
        try (GlmWorker failed = GlmWorker.acquire(config, "chat-0")) {
            loaded = failed.model();
        }
        Path weights = model.resolve("model.safetensors");
        Files.setLastModifiedTime(weights, FileTime.fromMillis(Files.getLastModifiedTime(weights).toMillis() + 1000));

        try (GlmWorker restarted = GlmWorker.acquire(config, "chat-0")) {
            assertThat(restarted.model()).isNotSameAs(loaded);
        }
    }

    @Test
    void aNegativeThreadCountIsRefusedWithTheOptionsName() {
        Configuration config = TinyGlm.write(model, 5);
        config.set(GlmOptions.CPU_THREADS, -2);
        assertThatThrownBy(() -> GlmWorker.acquire(config, "chat-0")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("glm.cpu.threads");
    }

    private static int[] generate(GlmWorker worker) throws Exception {
        SamplingParams params = SamplingParams.builder().temperature(0.8).seed(3).maxTokens(6).build();
        return worker.engine().submit(GenerationRequest.builder("r", new int[] {5, 6, 7, 8}).sampling(params).build())
                .result().get(30, TimeUnit.SECONDS).outputTokens();
    }

    private static Set<Thread> glmThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("glm-") && t.isAlive()).collect(Collectors.toSet());
    }

    private static List<Thread> started(Set<Thread> before) {
        return glmThreads().stream().filter(t -> !before.contains(t)).toList();
    }

    private static void awaitNoneStarted(Set<Thread> before) throws Exception {
        Await.until("no glm-* thread left of the closed workers", () -> started(before).isEmpty());
    }
}
