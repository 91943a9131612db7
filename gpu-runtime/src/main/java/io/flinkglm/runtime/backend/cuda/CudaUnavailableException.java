package io.flinkglm.runtime.backend.cuda;

import org.apache.flink.annotation.Internal;

/**
 * The CUDA backend cannot start on this machine: a library, the driver or a device is missing.
 * The message names what is missing and how to provide it; {@code auto} falls back to the CPU.
 */
@Internal
public final class CudaUnavailableException extends RuntimeException {
    public CudaUnavailableException(String message) {
        super(message);
    }

    public CudaUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
