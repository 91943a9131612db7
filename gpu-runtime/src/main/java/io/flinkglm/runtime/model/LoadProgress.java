package io.flinkglm.runtime.model;

/** Bytes of tensor data read so far during a load; called on the loading thread. */
@FunctionalInterface
public interface LoadProgress {
    void loaded(long bytesDone, long bytesTotal);
}
