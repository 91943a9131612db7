package io.flinkglm.runtime.backend;

import io.flinkglm.runtime.backend.cpu.CpuBackend;
import io.flinkglm.runtime.backend.cuda.CudaBackend;
import io.flinkglm.runtime.backend.cuda.CudaUnavailableException;
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
            case "cuda" -> cuda(model);
            case "auto" -> {
                try {
                    yield cuda(model);
                } catch (CudaUnavailableException e) {
                    LOG.info("backend auto: using the CPU because " + e.getMessage());
                    yield new CpuBackend(model);
                }
            }
            default -> throw new IllegalArgumentException("unknown backend \"" + name + "\": use cpu, cuda or auto");
        };
        LOG.info("backend: " + backend.description());
        return backend;
    }

    /** The CUDA backend, or a {@link CudaUnavailableException} naming what this machine lacks. */
    private static Backend cuda(Glm4Model model) {
        try {
            return new CudaBackend(model);
        } catch (NoClassDefFoundError e) {
            throw new CudaUnavailableException("backend cuda: the JavaCPP CUDA bindings (org.bytedeco:cuda, "
                    + "org.bytedeco:javacpp) are not on the classpath: " + e.getMessage(), e);
        }
    }
}
