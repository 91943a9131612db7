package io.flinkglm.runtime.backend.cuda;

import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cudart;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Device time per kernel name, from a pair of CUDA events around each launch. For benchmarks
 * ({@link CudaBackend#profileForward}): two event records per launch are cheap but not free, so a
 * serving step never runs with one.
 */
final class KernelTimer implements AutoCloseable {
    private final List<CUevent_st> events = new ArrayList<>();
    private final List<String> names = new ArrayList<>();

    void begin(String name) {
        record(2 * names.size());
        names.add(name);
    }

    void end() {
        record(2 * names.size() - 1);
    }

    /** Waits for the last launch, then gives milliseconds per name (first-seen order) and resets. */
    Map<String, Double> collect() {
        Map<String, Double> totals = new LinkedHashMap<>();
        if (!names.isEmpty()) {
            Cuda.check(cudart.cuEventSynchronize(events.get(2 * names.size() - 1)), "cuEventSynchronize");
        }
        float[] ms = new float[1];
        for (int i = 0; i < names.size(); i++) {
            Cuda.check(cudart.cuEventElapsedTime(ms, events.get(2 * i), events.get(2 * i + 1)), "cuEventElapsedTime");
            totals.merge(names.get(i), (double) ms[0], Double::sum);
        }
        names.clear();
        return totals;
    }

    private void record(int index) {
        while (events.size() <= index) {
            CUevent_st event = new CUevent_st();
            Cuda.check(cudart.cuEventCreate(event, cudart.CU_EVENT_DEFAULT), "cuEventCreate");
            events.add(event);
        }
        Cuda.check(cudart.cuEventRecord(events.get(index), (CUstream_st) null), "cuEventRecord");
    }

    @Override
    public void close() {
        for (CUevent_st event : events) {
            cudart.cuEventDestroy(event);
        }
        events.clear();
    }
}
