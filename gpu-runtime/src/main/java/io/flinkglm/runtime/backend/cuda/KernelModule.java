package io.flinkglm.runtime.backend.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.cuda.nvrtc._nvrtcProgram;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The kernels of a {@code .cu} resource, compiled for the device's own architecture and loaded.
 *
 * <p>Why NVRTC at start-up rather than nvcc at build time: the build then needs no CUDA toolkit,
 * and the code is compiled for exactly the GPU it runs on (sm_90 on an H100/H200) without a fat
 * binary for every architecture. The cubin is cached under {@code ~/.cache/flink-glm/kernels},
 * keyed by a hash of the source, the options and the NVRTC version, so only the first start on a
 * machine pays the compile. CI compiles the same sources with nvcc ({@code CudaKernelSourcesTest}).
 *
 * <pre>{@code
 * KernelModule module = KernelModule.load("glm4.cu", device);
 * module.launch("to_bf16", 1024, 1, 256, 0, xAddress, yAddress, (long) n);
 * }</pre>
 */
final class KernelModule implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KernelModule.class);
    private static final String RESOURCE_DIR = "/io/flinkglm/runtime/backend/cuda/";

    private final CUmod_st module;
    private final KernelSignatures signatures;
    private static final int MAX_PARAMETERS = 32;

    private final Map<String, CUfunc_st> functions = new HashMap<>();
    /** Set while {@link CudaBackend#profileForward} runs: every launch is then timed. */
    KernelTimer timer;
    private final BytePointer argumentSlots = new BytePointer(8L * MAX_PARAMETERS);
    private final PointerPointer<BytePointer> argumentPointers = new PointerPointer<>(MAX_PARAMETERS);

    private KernelModule(CUmod_st module, KernelSignatures signatures) {
        this.module = module;
        this.signatures = signatures;
        LongPointer slots = new LongPointer(argumentPointers); // a view of the void*[] (not an owner)
        for (int i = 0; i < MAX_PARAMETERS; i++) {
            slots.put(i, argumentSlots.address() + 8L * i);
        }
    }

    static KernelModule load(String resource, Cuda.Device device) {
        String source = readResource(resource);
        List<String> options = List.of("--gpu-architecture=" + device.arch(), "--std=c++17");
        byte[] cubin = cached(resource, source, options);
        CUmod_st module = new CUmod_st();
        try (BytePointer image = new BytePointer(cubin)) {
            Cuda.check(cudart.cuModuleLoadData(module, image), "cuModuleLoadData(" + resource + ")");
        }
        return new KernelModule(module, KernelSignatures.parse(source));
    }

    /**
     * Launches a kernel on the default stream. Arguments are passed by type: {@code Long} for
     * device addresses and 64-bit integers, {@code Integer} for {@code int}, {@code Float} for
     * {@code float}, in the kernel's parameter order.
     */
    void launch(String kernel, int gridX, int gridY, int blockX, int sharedBytes, Object... args) {
        launch3d(kernel, gridX, gridY, 1, blockX, sharedBytes, args);
    }

    /**
     * As {@link #launch(String, int, int, int, int, Object...)} with a third grid dimension.
     *
     * <p>A step launches some 500 kernels, so the arguments go through one native buffer kept for
     * the module's life (a slot of 8 bytes per parameter, little-endian, so an {@code int} or a
     * {@code float} sits at the start of its slot) instead of a native allocation per argument.
     * cuLaunchKernel copies the values before it returns, so the next launch may overwrite them.
     * The buffer makes launches single-threaded: CudaBackend issues them all from its synchronized
     * methods.
     */
    void launch3d(String kernel, int gridX, int gridY, int gridZ, int blockX, int sharedBytes, Object... args) {
        signatures.check(kernel, args);
        if (args.length > MAX_PARAMETERS) {
            throw new IllegalArgumentException(kernel + " takes " + args.length + " parameters; at most "
                    + MAX_PARAMETERS + " are supported");
        }
        CUfunc_st function = functions.computeIfAbsent(kernel, this::lookup);
        for (int i = 0; i < args.length; i++) {
            long slot = 8L * i;
            if (args[i] instanceof Long v) {
                argumentSlots.putLong(slot, v);
            } else if (args[i] instanceof Integer v) {
                argumentSlots.putInt(slot, v);
            } else {
                argumentSlots.putFloat(slot, (Float) args[i]); // the only other type KernelSignatures admits
            }
        }
        if (timer != null) {
            timer.begin(kernel);
        }
        Cuda.check(cudart.cuLaunchKernel(function, gridX, gridY, gridZ, blockX, 1, 1, sharedBytes,
                (CUstream_st) null, argumentPointers, (PointerPointer<?>) null), "cuLaunchKernel(" + kernel + ")");
        if (timer != null) {
            timer.end();
        }
    }

    private CUfunc_st lookup(String kernel) {
        CUfunc_st function = new CUfunc_st();
        Cuda.check(cudart.cuModuleGetFunction(function, module, kernel), "cuModuleGetFunction(" + kernel + ")");
        return function;
    }

    @Override
    public void close() {
        cudart.cuModuleUnload(module);
        argumentPointers.close();
        argumentSlots.close();
    }

    static String readResource(String resource) {
        try (InputStream in = KernelModule.class.getResourceAsStream(RESOURCE_DIR + resource)) {
            if (in == null) {
                throw new IllegalStateException("kernel source " + RESOURCE_DIR + resource + " is not on the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] cached(String resource, String source, List<String> options) {
        int[] major = new int[1];
        int[] minor = new int[1];
        nvrtc.nvrtcVersion(major, minor);
        String key = sha256(source + "\n" + options + "\nnvrtc " + major[0] + "." + minor[0]);
        Path dir = cacheDir();
        Path file = dir.resolve(resource.replace(".cu", "") + "-" + key.substring(0, 24) + ".cubin");
        try {
            if (Files.isRegularFile(file)) {
                return Files.readAllBytes(file);
            }
            long start = System.nanoTime();
            byte[] cubin = compile(resource, source, options);
            LOG.info("compiled " + resource + " for " + options.get(0) + " with NVRTC " + major[0] + "."
                    + minor[0] + " in " + (System.nanoTime() - start) / 1_000_000 + " ms; cached at " + file);
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "kernel", ".tmp");
            Files.write(tmp, cubin);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return cubin;
        } catch (IOException e) {
            LOG.warn("kernel cache " + dir + " is not usable (" + e + "); compiling without it");
            return compile(resource, source, options);
        }
    }

    private static Path cacheDir() {
        String configured = System.getProperty("flinkglm.cuda.cache");
        return configured != null ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "flink-glm", "kernels");
    }

    private static byte[] compile(String resource, String source, List<String> options) {
        _nvrtcProgram program = new _nvrtcProgram();
        checkNvrtc(nvrtc.nvrtcCreateProgram(program, new BytePointer(source), new BytePointer(resource), 0,
                (PointerPointer<?>) null, (PointerPointer<?>) null), "nvrtcCreateProgram", resource);
        try (PointerPointer<BytePointer> opts = new PointerPointer<>(options.toArray(String[]::new))) {
            int rc = nvrtc.nvrtcCompileProgram(program, options.size(), opts);
            if (rc != nvrtc.NVRTC_SUCCESS) {
                throw new CudaUnavailableException("backend cuda: kernel source " + resource
                        + " failed to compile with NVRTC (" + errorString(rc) + ") for " + options.get(0) + ":\n"
                        + log(program));
            }
            try (SizeTPointer size = new SizeTPointer(1)) {
                checkNvrtc(nvrtc.nvrtcGetCUBINSize(program, size), "nvrtcGetCUBINSize", resource);
                byte[] cubin = new byte[(int) size.get()];
                checkNvrtc(nvrtc.nvrtcGetCUBIN(program, cubin), "nvrtcGetCUBIN", resource);
                return cubin;
            }
        } finally {
            nvrtc.nvrtcDestroyProgram(program);
        }
    }

    private static String log(_nvrtcProgram program) {
        try (SizeTPointer size = new SizeTPointer(1)) {
            nvrtc.nvrtcGetProgramLogSize(program, size);
            try (BytePointer text = new BytePointer(Math.max(1, size.get()))) {
                nvrtc.nvrtcGetProgramLog(program, text);
                return text.getString(StandardCharsets.UTF_8);
            }
        }
    }

    private static void checkNvrtc(int rc, String what, String resource) {
        if (rc != nvrtc.NVRTC_SUCCESS) {
            throw new CudaException(what + "(" + resource + ") failed: " + errorString(rc));
        }
    }

    private static String errorString(int rc) {
        BytePointer text = nvrtc.nvrtcGetErrorString(rc);
        return text == null || text.isNull() ? "NVRTC error " + rc : text.getString(StandardCharsets.US_ASCII);
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
