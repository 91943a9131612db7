package io.flinkglm.runtime.backend.cuda;

import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.model.RandomCheckpoint;
import io.flinkglm.runtime.testing.SharedData;
import io.flinkglm.runtime.tools.CudaCheck;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The GPU checks of {@link CudaCheck} on a generated bf16 model (and the golden vectors when
 * ../shared is present). Skips, saying why, on machines without a GPU and the CUDA 13 libraries.
 */
class CudaBackendTest {
    @Test
    void gpuMatchesCpuIsBatchInvariantAndMovesKvBothWays(@TempDir Path dir) throws Exception {
        String unavailable = unavailableReason();
        assumeTrue(unavailable == null, () -> "no usable GPU, skipping the CUDA checks: " + unavailable);
        RandomCheckpoint.write(dir, RandomCheckpoint.preset("tiny", DType.BF16), DType.BF16, 1, 5, null);
        Path vectors = SharedData.find().map(glm4 -> glm4.resolve("vectors")).orElse(null);

        Map<String, Object> report = CudaCheck.run(Glm4Model.load(dir), vectors);

        assertThat(report).as(report.toString()).containsEntry("passed", true);
    }

    private static String unavailableReason() {
        try {
            Cuda.release(Cuda.open(0));
            return null;
        } catch (CudaUnavailableException e) {
            return e.getMessage();
        }
    }
}
