package io.flinkglm.runtime.backend;

import io.flinkglm.runtime.backend.cpu.CpuBackend;
import io.flinkglm.runtime.model.Glm4Model;

import java.util.Locale;
import java.util.logging.Logger;

/**
 * Picks a backend by name: {@code cpu}, {@code cuda} or {@code auto} (cuda when a device and its
 * libraries load, else cpu). The choice is logged once per backend created.
 *
 * <pre>{@code
 * Backend backend = Backends.create("auto", model);
 * }</pre>
 */
public final class Backends {
    private static final Logger LOG = Logger.getLogger(Backends.class.getName());

    private Backends() {}

    public static Backend create(String name, Glm4Model model) {
        Backend backend = switch (name.toLowerCase(Locale.ROOT)) {
            case "cpu" -> new CpuBackend(model);
            case "auto" -> {
                LOG.info("backend auto: no CUDA backend in this build, using the CPU");
                yield new CpuBackend(model);
            }
            case "cuda" -> throw new UnsupportedOperationException(
                    "backend cuda is not available in this build; use cpu or auto");
            default -> throw new IllegalArgumentException("unknown backend \"" + name + "\": use cpu, cuda or auto");
        };
        LOG.info("backend: " + backend.description());
        return backend;
    }
}
