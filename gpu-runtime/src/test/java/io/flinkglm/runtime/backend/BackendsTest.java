package io.flinkglm.runtime.backend;

import io.flinkglm.runtime.backend.cuda.CudaUnavailableException;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.testing.TinyModels;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
    void unknownBackendNamesTheChoices() {
        assertThatThrownBy(() -> Backends.create("tpu", model))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("use cpu, cuda or auto");
    }
}
