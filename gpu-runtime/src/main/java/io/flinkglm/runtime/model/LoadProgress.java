package io.flinkglm.runtime.model;

import org.apache.flink.annotation.PublicEvolving;

/** Bytes of tensor data read so far during a load; called on the loading thread. */
@PublicEvolving
@FunctionalInterface
public interface LoadProgress {
    void loaded(long bytesDone, long bytesTotal);
}
