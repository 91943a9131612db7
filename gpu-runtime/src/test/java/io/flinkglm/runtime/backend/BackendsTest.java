package io.flinkglm.runtime.backend;

import io.flinkglm.runtime.backend.cuda.CudaUnavailableException;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.testing.TinyModels;

import io.flinkglm.runtime.backend.cpu.Kernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class BackendsTest {
    private final Glm4Model model = TinyModels.small(1);

    @Test
    void cudaEitherRunsOrSaysWhatIsMissingAndAutoFollows() {
        boolean gpu;
        try (Backend cuda = Backends.create("cuda", model)) {
            assertThat(cuda.description()).startsWith("cuda (");
            gpu = true;
        } catch (CudaUnavailableException e) {
            // No GPU here: the message names the backend and the library, driver or device it lacks.
            assertThat(e.getMessage()).startsWith("backend cuda: ")
                    .containsAnyOf("libcudart", "libcublas", "libnvrtc", "driver", "device", "bindings");
            gpu = false;
        }
        try (Backend auto = Backends.create("auto", model)) {
            assertThat(auto.description()).startsWith(gpu ? "cuda (" : "cpu (");
        }
    }

    @Test
    void autoWithoutAnNvidiaDriverNeverTriesCudaSoJavaCppExtractsNothing(@TempDir Path cache) {
        assumeFalse(Backends.nvidiaDriverVisible(), "this machine has an NVIDIA driver");
        // The runtime logs through SLF4J; this module's tests bind it to java.util.logging.
        List<String> lines = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                lines.add(r.getMessage());
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger log = Logger.getLogger(Backends.class.getName());
        log.addHandler(capture);
        String previous = System.setProperty("org.bytedeco.javacpp.cachedir", cache.toString());
        try (Backend auto = Backends.create("auto", model, 1)) {
            assertThat(auto.description()).isEqualTo("cpu (" + (Kernels.BEST.width() == 0 ? "scalar"
                    : "SIMD " + Kernels.BEST.width() + " x f32") + ", 1 threads)");
        } finally {
            log.removeHandler(capture);
            if (previous == null) {
                System.clearProperty("org.bytedeco.javacpp.cachedir");
            } else {
                System.setProperty("org.bytedeco.javacpp.cachedir", previous);
            }
        }
        // The CUDA path was not entered (it would have said what it lacks), so nothing was extracted.
        assertThat(String.join("\n", lines)).contains("backend auto: using the CPU because no NVIDIA driver is visible");
        assertThat(cache).isEmptyDirectory();
    }

    @Test
    void unknownBackendNamesTheChoices() {
        assertThatThrownBy(() -> Backends.create("tpu", model))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("use cpu, cuda or auto");
    }
}
