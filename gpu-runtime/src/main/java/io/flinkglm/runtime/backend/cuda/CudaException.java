package io.flinkglm.runtime.backend.cuda;

import org.apache.flink.annotation.Internal;

/** A CUDA, cuBLAS or NVRTC call failed while the backend was running; the message names the call. */
@Internal
public final class CudaException extends RuntimeException {
    public CudaException(String message) {
        super(message);
    }
}
