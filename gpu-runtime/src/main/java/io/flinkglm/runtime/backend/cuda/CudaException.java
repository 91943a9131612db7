package io.flinkglm.runtime.backend.cuda;

/** A CUDA, cuBLAS or NVRTC call failed while the backend was running; the message names the call. */
public final class CudaException extends RuntimeException {
    public CudaException(String message) {
        super(message);
    }
}
