package io.flinkglm.runtime.backend;

import io.flinkglm.runtime.backend.cpu.CpuBackend;
import io.flinkglm.runtime.backend.cpu.Kernels;
import io.flinkglm.runtime.backend.cpu.Parallel;
import io.flinkglm.runtime.backend.cuda.CudaBackend;
import io.flinkglm.runtime.backend.cuda.CudaUnavailableException;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.model.ModelConfig;
import io.flinkglm.runtime.model.ModelFormatException;
import org.apache.flink.annotation.PublicEvolving;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Picks a backend by name: {@code cpu}, {@code cuda} or {@code auto} (cuda when a device and its
 * libraries load, else cpu). The choice is logged once per backend created, and every backend
 * created here has passed a {@linkplain #probe probe forward}, so a corrupt model fails at start.
 *
 * <pre>{@code
 * Backend backend = Backends.create("auto", model);
 * }</pre>
 */
@PublicEvolving
public final class Backends {
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);
    /**
     * Where an NVIDIA driver shows itself without loading anything: the kernel module's proc entry,
     * its control device, or WSL's GPU device. None present: {@code auto} does not try CUDA at all,
     * since even a failed try has JavaCPP extract its JNI glue into its cache directory.
     */
    private static final List<Path> DRIVER_MARKERS =
            List.of(Path.of("/proc/driver/nvidia/version"), Path.of("/dev/nvidiactl"), Path.of("/dev/dxg"));
    /** At most this many tokens in the probe forward. */
    private static final int PROBE_TOKENS = 2;
    /** The probe's one KV block: the engine's default block size, the path every backend serves. */
    private static final int PROBE_BLOCK = 16;

    private Backends() {}

    /** {@link #create(String, Glm4Model, int)} with the CPU pool at {@link Parallel#defaultThreads}. */
    public static Backend create(String name, Glm4Model model) {
        return create(name, model, 0);
    }

    /**
     * @param cpuThreads the CPU backend's worker pool, the calling thread included; 0 for
     *                   {@link Parallel#defaultThreads} (the cores divided between the pools open in this JVM)
     */
    public static Backend create(String name, Glm4Model model, int cpuThreads) {
        if (cpuThreads < 0) {
            throw new IllegalArgumentException("CPU threads must be 0 (automatic) or positive, got " + cpuThreads);
        }
        Backend backend = switch (name.toLowerCase(Locale.ROOT)) {
            case "cpu" -> cpu(model, cpuThreads);
            case "cuda" -> cuda(model);
            case "auto" -> {
                try {
                    if (!nvidiaDriverVisible()) {
                        throw new CudaUnavailableException("no NVIDIA driver is visible (none of " + DRIVER_MARKERS
                                + " exists)");
                    }
                    yield cuda(model);
                } catch (CudaUnavailableException e) {
                    LOG.info("backend auto: using the CPU because {}", e.getMessage());
                    yield cpu(model, cpuThreads);
                }
            }
            default -> throw new IllegalArgumentException("unknown backend \"" + name + "\": use cpu, cuda or auto");
        };
        LOG.info("backend: {}", backend.description());
        try {
            probe(backend);
        } catch (RuntimeException e) {
            backend.close();
            throw e;
        }
        return backend;
    }

    /**
     * Runs the probe forward: a checkpoint that loads cleanly can still compute NaN everywhere
     * (weights read from the wrong byte, NaNs written by a broken conversion), and without this the
     * first sign would be garbage text with exit code 0. One or two tokens through the real
     * backend cost about one decode step.
     *
     * <p>The probe feeds the model's first two eos ids when config.json has them (in GLM-4,
     * {@code <|endoftext|>} and {@code <|user|>}, tokens every conversation contains, so a model
     * broken for them is broken for everyone), else token 0. A checkpoint broken only for rarer
     * tokens passes the probe; the engine then fails just the requests that reach a non-finite logit.
     *
     * @throws IllegalArgumentException ({@link ModelFormatException} when the model has a directory)
     *                                  naming the model directory and the first bad logit
     */
    public static void probe(Backend backend) {
        ModelConfig config = backend.model().config();
        int[] tokens = probeTokens(config);
        float[] logits;
        try (KvCache kv = backend.newKvCache(1, PROBE_BLOCK)) {
            logits = backend.forwardLogits(kv, List.of(new SequenceChunk(tokens, 0, new int[] {0}, false)))[0][0];
        }
        for (int i = 0; i < logits.length; i++) {
            if (!Float.isFinite(logits[i])) {
                String problem = String.format("the probe forward of tokens %s gives logit %s for token %d;"
                        + " the weights are corrupt (NaN or infinite values, or data read from the wrong"
                        + " offset), so the model cannot serve", Arrays.toString(tokens), logits[i], i);
                Path dir = backend.model().dir();
                throw dir != null ? new ModelFormatException(dir, problem) : new IllegalArgumentException(problem);
            }
        }
    }

    static int[] probeTokens(ModelConfig config) {
        List<Integer> eos = config.eosTokenIds(); // checked to lie in the vocabulary when the config was read
        int n = Math.min(Math.min(eos.size(), PROBE_TOKENS), config.maxPositions());
        if (n == 0) {
            return new int[] {0};
        }
        return eos.subList(0, n).stream().mapToInt(Integer::intValue).toArray();
    }

    /** Whether this machine shows an NVIDIA driver; {@code auto} tries CUDA only then. */
    static boolean nvidiaDriverVisible() {
        return DRIVER_MARKERS.stream().anyMatch(Files::exists);
    }

    private static Backend cpu(Glm4Model model, int threads) {
        return new CpuBackend(model, Kernels.BEST, threads == 0 ? Parallel.defaultThreads() : threads);
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
