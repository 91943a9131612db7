package io.flinkglm.examples;

import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.api.common.functions.RichMapFunction;

/**
 * Passes records through and fails its task after every {@code everyRecords} records since the task last
 * (re)started, on the first {@code failingAttempts} attempts only: a restart replays what the last checkpoint
 * did not cover, so without that bound a failure every N records could repeat forever. For the demo's
 * {@code --fail-every N} (on the prompts read), which shows that the output of a job with failures equals one
 * without, and for {@code glm.job.fail-every} (on the completions written).
 *
 * <pre>{@code
 * prompts.map(new FailureInjector<>(3, 3), TypeInformation.of(Prompt.class)).name("failure injector");
 * }</pre>
 */
final class FailureInjector<T> extends RichMapFunction<T, T> {

    private static final long serialVersionUID = 1L;

    /** Failures injected in this JVM, for tests on a local MiniCluster. */
    static final AtomicInteger INJECTED = new AtomicInteger();

    private final int everyRecords;
    private final int failingAttempts;
    private transient long seenSinceStart;

    FailureInjector(int everyRecords, int failingAttempts) {
        if (everyRecords <= 0 || failingAttempts < 0) {
            throw new IllegalArgumentException("fail every " + everyRecords + " records on the first "
                    + failingAttempts + " attempts: both must be positive");
        }
        this.everyRecords = everyRecords;
        this.failingAttempts = failingAttempts;
    }

    @Override
    public T map(T value) {
        int attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
        if (attempt < failingAttempts && ++seenSinceStart == everyRecords) {
            String cause = String.format("injected failure after %d records of attempt %d (fail every %d)",
                    everyRecords, attempt, everyRecords);
            System.err.println("demo: " + cause);
            INJECTED.incrementAndGet();
            throw new InjectedFailure(cause);
        }
        return value;
    }

    /** What the injected failures throw, so a reader of the logs can tell them from real ones. */
    static final class InjectedFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InjectedFailure(String message) {
            super(message);
        }
    }
}
