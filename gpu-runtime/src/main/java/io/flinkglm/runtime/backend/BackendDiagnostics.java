package io.flinkglm.runtime.backend;

import org.apache.flink.annotation.Internal;

import java.util.List;
import java.util.Map;

/**
 * What a backend on its own device can measure there, for benchmarks: the ceilings a step's time
 * is judged against, and where a step's device time goes. Optional ({@link Backend#diagnostics()}):
 * the CPU backend has none, since its device is the host, which a benchmark measures itself.
 *
 * <pre>{@code
 * backend.diagnostics().ifPresent(d -> System.out.println(d.deviceName() + ": "
 *         + d.measureMemoryBandwidthGbs(1L << 30, 20) + " GB/s, " + d.memoryBandwidthKind()));
 * }</pre>
 */
@Internal
public interface BackendDiagnostics {
    /** The device, as its driver names it. */
    String deviceName();

    /** The device memory's streaming rate in GB/s over {@code bytes}, {@code repeats} passes. */
    double measureMemoryBandwidthGbs(long bytes, int repeats);

    /** What {@link #measureMemoryBandwidthGbs} counts, in a few words for the report. */
    String memoryBandwidthKind();

    /** The device's matrix-product rate in TFLOP/s for {@code [m, k] x [k, n]} in the weights' dtype. */
    double measureMatmulTflops(int m, int n, int k, int repeats);

    /** One more forward step like {@link Backend#forwardLogits}, timed on the device kernel by kernel (ms). */
    Map<String, Double> profileForward(KvCache kv, List<SequenceChunk> chunks);
}
