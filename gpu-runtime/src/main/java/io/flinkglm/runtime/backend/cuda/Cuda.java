package io.flinkglm.runtime.backend.cuda;

import org.bytedeco.cuda.cudart.CUctx_st;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.cuda.global.nvrtc;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

import java.nio.charset.StandardCharsets;

/**
 * The thin layer over JavaCPP's CUDA presets: loading the libraries with a clear message when they
 * are missing, the device's primary context, device memory as plain {@code long} addresses, and
 * error checking. Everything runs on the default stream, so calls are ordered without events.
 *
 * <p>The presets carry only JNI glue; libcudart, libcublas and libnvrtc (CUDA 13) come from the
 * machine, found through {@code LD_LIBRARY_PATH} (a CUDA toolkit or the nvidia-*-cu13 Python
 * wheels), and libcuda from the driver.
 *
 * <pre>{@code
 * Cuda.Device device = Cuda.open(0);          // throws CudaUnavailableException naming what is missing
 * long buffer = Cuda.alloc(1 << 20);
 * Cuda.free(buffer);
 * }</pre>
 */
final class Cuda {
    private static final String LIBRARY_HINT = "the CUDA 13 libraries are not bundled: put the folders holding "
            + "libcudart.so.13, libcublas.so.13, libcublasLt.so.13 and libnvrtc.so.13 on LD_LIBRARY_PATH "
            + "(a CUDA 13 toolkit's lib64, or the lib folders of the nvidia-*-cu13 Python wheels)";

    /** JavaCPP's property for where it extracts its JNI glue; by default {@code ~/.javacpp/cache}. */
    static final String JAVACPP_CACHE_DIR = "org.bytedeco.javacpp.cachedir";

    private static boolean loaded;
    private static String loadFailure;

    private Cuda() {}

    /** The GPU a backend runs on: its primary context, name, compute capability and multiprocessors. */
    record Device(int ordinal, CUctx_st context, String name, int major, int minor, int multiprocessors) {
        /** Makes this device's context current on the calling thread (engine threads come and go). */
        void bind() {
            check(cudart.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        }

        String arch() {
            return "sm_" + major + minor;
        }
    }

    /** Loads the libraries and opens a device, or says exactly what is missing. */
    static Device open(int ordinal) {
        loadLibraries();
        int rc = cudart.cuInit(0);
        if (rc != cudart.CUDA_SUCCESS) {
            throw new CudaUnavailableException("backend cuda: the CUDA driver did not initialise ("
                    + errorName(rc) + "); no NVIDIA driver or GPU is visible on this machine");
        }
        int[] count = new int[1];
        check(cudart.cuDeviceGetCount(count), "cuDeviceGetCount");
        if (ordinal >= count[0]) {
            throw new CudaUnavailableException("backend cuda: device " + ordinal + " requested but "
                    + count[0] + " CUDA device(s) are visible");
        }

        CUctx_st context = new CUctx_st();
        check(cudart.cuDevicePrimaryCtxRetain(context, ordinal), "cuDevicePrimaryCtxRetain");
        check(cudart.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        byte[] name = new byte[256];
        check(cudart.cuDeviceGetName(name, name.length, ordinal), "cuDeviceGetName");
        int[] major = new int[1];
        int[] minor = new int[1];
        check(cudart.cuDeviceGetAttribute(major, cudart.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, ordinal),
                "cuDeviceGetAttribute");
        check(cudart.cuDeviceGetAttribute(minor, cudart.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, ordinal),
                "cuDeviceGetAttribute");
        int[] multiprocessors = new int[1];
        check(cudart.cuDeviceGetAttribute(multiprocessors, cudart.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, ordinal),
                "cuDeviceGetAttribute");
        return new Device(ordinal, context, cString(name), major[0], minor[0], multiprocessors[0]);
    }

    static void release(Device device) {
        cudart.cuDevicePrimaryCtxRelease(device.ordinal());
    }

    /**
     * Loads the three presets once per JVM. A failed load is remembered: the JVM reports a second
     * attempt only as "could not initialize class", which would hide the missing library's name.
     */
    private static synchronized void loadLibraries() {
        if (loadFailure == null && !loaded) {
            useTmpCacheDir();
            try {
                loadLibrary(cudart.class, "libcudart.so.13 / libcuda.so.1 (the CUDA runtime and driver)");
                loadLibrary(cublas.class, "libcublas.so.13 and libcublasLt.so.13 (cuBLAS)");
                loadLibrary(nvrtc.class, "libnvrtc.so.13 (NVRTC, the run-time kernel compiler)");
                loaded = true;
            } catch (CudaUnavailableException e) {
                loadFailure = e.getMessage();
            }
        }
        if (loadFailure != null) {
            throw new CudaUnavailableException(loadFailure);
        }
    }

    /**
     * Unless the JVM names a cache, JavaCPP extracts into {@code ~/.javacpp/cache}: a TaskManager's
     * HOME may be read-only, and nothing cleans it. The JVM's tmp dir (a TaskManager's
     * {@code io.tmp.dirs} default) is writable and cleaned with the machine.
     */
    private static void useTmpCacheDir() {
        if (System.getProperty(JAVACPP_CACHE_DIR) == null) {
            System.setProperty(JAVACPP_CACHE_DIR, java.nio.file.Path.of(System.getProperty("java.io.tmpdir"),
                    "flink-glm-javacpp-" + System.getProperty("user.name", "user")).toString());
        }
    }

    private static void loadLibrary(Class<?> preset, String what) {
        try {
            Loader.load(preset);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError | ExceptionInInitializerError e) {
            String reason = rootMessage(e);
            String hint = reason.startsWith("libcuda.so")
                    ? "libcuda.so.1 comes with the NVIDIA driver, and no driver is installed on this machine"
                    : LIBRARY_HINT;
            throw new CudaUnavailableException("backend cuda: cannot load " + what + ": " + reason + "; " + hint, e);
        }
    }

    /**
     * JavaCPP reports "no jniX in java.library.path" on top; the dlopen error underneath names the
     * library that is really missing ("/cache/libjnicudart.so: libcuda.so.1: cannot open ...").
     */
    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null) {
            root = root.getCause();
        }
        String message = String.valueOf(root.getMessage());
        int jni = message.indexOf(".so: ");
        return jni >= 0 && message.startsWith("/") ? message.substring(jni + 5) : message;
    }

    static long alloc(long bytes) {
        long[] address = new long[1];
        check(cudart.cuMemAlloc(address, Math.max(bytes, 1)), "cuMemAlloc(" + bytes + " bytes)");
        return address[0];
    }

    /**
     * Page-locks host memory the JVM allocated, so copies to and from it run at the bus's speed
     * instead of going through the driver's staging buffer. {@link #unpin} before freeing it.
     */
    static <P extends Pointer> P pinned(P host) {
        check(cudart.cuMemHostRegister(host, host.capacity() * host.sizeof(), 0), "cuMemHostRegister");
        return host;
    }

    static void unpin(Pointer host) {
        cudart.cuMemHostUnregister(host);
    }

    static void free(long address) {
        if (address != 0) {
            cudart.cuMemFree(address);
        }
    }

    static void toDevice(long dst, Pointer src, long bytes) {
        check(cudart.cuMemcpyHtoD(dst, src, bytes), "cuMemcpyHtoD");
    }

    static void toHost(Pointer dst, long src, long bytes) {
        check(cudart.cuMemcpyDtoH(dst, src, bytes), "cuMemcpyDtoH");
    }

    static void deviceToDevice(long dst, long src, long bytes) {
        check(cudart.cuMemcpyDtoD(dst, src, bytes), "cuMemcpyDtoD");
    }

    static void synchronize() {
        check(cudart.cuCtxSynchronize(), "cuCtxSynchronize");
    }

    /** Free and total device memory in bytes. */
    static long[] memoryInfo() {
        try (SizeTPointer free = new SizeTPointer(1); SizeTPointer total = new SizeTPointer(1)) {
            check(cudart.cuMemGetInfo(free, total), "cuMemGetInfo");
            return new long[] {free.get(), total.get()};
        }
    }

    /** A device address as a JavaCPP pointer, for cuBLAS, which takes {@code void*}. */
    static Pointer pointer(long address) {
        return new DevicePointer(address);
    }

    static void check(int rc, String what) {
        if (rc != cudart.CUDA_SUCCESS) {
            throw new CudaException(what + " failed: " + errorName(rc));
        }
    }

    static void checkBlas(int rc, String what) {
        if (rc != cublas.CUBLAS_STATUS_SUCCESS) {
            throw new CudaException(what + " failed: cuBLAS status " + rc);
        }
    }

    private static String errorName(int rc) {
        try (PointerPointer<BytePointer> name = new PointerPointer<>(1)) {
            if (cudart.cuGetErrorName(rc, name) == cudart.CUDA_SUCCESS) {
                BytePointer text = name.get(BytePointer.class, 0);
                if (text != null && !text.isNull()) {
                    return text.getString(StandardCharsets.US_ASCII) + " (" + rc + ")";
                }
            }
        } catch (RuntimeException | LinkageError e) {
            // the bare code below still says what failed
        }
        return "CUDA error " + rc;
    }

    private static String cString(byte[] bytes) {
        int n = 0;
        while (n < bytes.length && bytes[n] != 0) {
            n++;
        }
        return new String(bytes, 0, n, StandardCharsets.UTF_8);
    }

    /** A pointer JavaCPP does not own: device memory is freed through {@link #free}. */
    private static final class DevicePointer extends Pointer {
        DevicePointer(long address) {
            this.address = address;
        }
    }
}
