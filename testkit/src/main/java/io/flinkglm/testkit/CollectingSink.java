package io.flinkglm.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * A sink into this JVM's memory, for MiniCluster tests: records arrive in the order the subtasks wrote them.
 * The sink is serialized into the job, so the records live in a static map under the sink's id. Not
 * transactional: use it where no failure replays output.
 *
 * <pre>{@code
 * CollectingSink<Completion> sink = new CollectingSink<>();
 * stream.sinkTo(sink);
 * env.execute();
 * List<Completion> received = sink.received();
 * }</pre>
 */
public final class CollectingSink<T> implements Sink<T> {
    private static final long serialVersionUID = 1L;
    private static final Map<String, Queue<Object>> RECEIVED = new ConcurrentHashMap<>();

    private final String id = UUID.randomUUID().toString();

    public CollectingSink() {
        RECEIVED.put(id, new ConcurrentLinkedQueue<>());
    }

    /** What the job wrote so far, in arrival order. */
    @SuppressWarnings("unchecked")
    public List<T> received() {
        return new ArrayList<>((Queue<T>) (Queue<?>) RECEIVED.get(id));
    }

    public int count() {
        return RECEIVED.get(id).size();
    }

    @Override
    public SinkWriter<T> createWriter(WriterInitContext context) {
        Queue<Object> queue = RECEIVED.get(id);
        return new SinkWriter<>() {
            @Override
            public void write(T element, Context ctx) {
                queue.add(element);
            }

            @Override
            public void flush(boolean endOfInput) {}

            @Override
            public void close() {}
        };
    }
}
