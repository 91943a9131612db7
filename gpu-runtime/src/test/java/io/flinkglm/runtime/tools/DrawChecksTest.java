package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.cpu.CpuBackend;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.model.RandomCheckpoint;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The device checks' draw checks, on the CPU backend: they pass here, so on a GPU a failure is the GPU's. */
class DrawChecksTest {
    @TempDir
    Path dir;

    @Test
    void theCpuBackendDrawsTheSameTokensAtEveryBatchSizeAfterImportingKvAndAsTheHostSampler() throws Exception {
        RandomCheckpoint.write(dir, RandomCheckpoint.preset("tiny", DType.F32), DType.F32, 1, 4, null);
        try (Backend backend = new CpuBackend(Glm4Model.load(dir))) {
            DrawChecks.Outcome batches = DrawChecks.acrossBatchSizes(backend, 6); // 16 on the GPU; 6 keeps this test quick
            DrawChecks.Outcome replay = DrawChecks.replayFromImportedKv(backend);
            DrawChecks.Outcome host = DrawChecks.agreesWithHostSampler(backend);

            assertThat(batches.passed()).as("%s", batches.figures()).isTrue();
            assertThat(batches.figures()).containsEntry("differing_at_batch_8", 0).containsEntry("differing_at_batch_64", 0);
            assertThat((Long) batches.figures().get("distinct_tokens_at_batch_1")).isGreaterThan(50L);
            assertThat(replay.passed()).as("%s", replay.figures()).isTrue();
            assertThat(host.passed()).as("%s", host.figures()).isTrue();
        }
    }
}
