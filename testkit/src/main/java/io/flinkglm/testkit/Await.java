package io.flinkglm.testkit;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;

/**
 * Waits for what a running job makes true (answers in a sink, a checkpoint done, records committed), by
 * polling it until a deadline: the condition decides, never the time slept. On the deadline it fails with
 * what was awaited.
 *
 * <pre>{@code
 * Await.until("8 answers", () -> sink.count() >= 8);
 * List<FunctionCall> calls = Await.value("the function call", () -> Optional.of(read()).filter(l -> !l.isEmpty()));
 * }</pre>
 */
public final class Await {

    /** Long enough for a MiniCluster job on a busy two-core CI machine; a passing wait takes seconds. */
    public static final Duration DEFAULT_DEADLINE = Duration.ofMinutes(2);
    /** Between two looks at the condition: short next to a checkpoint interval, long next to a cheap check. */
    private static final Duration POLL_INTERVAL = Duration.ofMillis(20);

    private Await() {}

    /** Returns once {@code condition} holds; fails after {@link #DEFAULT_DEADLINE}. */
    public static void until(String what, Callable<Boolean> condition) throws Exception {
        value(what, DEFAULT_DEADLINE, () -> condition.call() ? Optional.of(true) : Optional.empty());
    }

    /** The first value {@code attempt} returns; fails after {@link #DEFAULT_DEADLINE}. */
    public static <T> T value(String what, Callable<Optional<T>> attempt) throws Exception {
        return value(what, DEFAULT_DEADLINE, attempt);
    }

    /**
     * The first value {@code attempt} returns, trying again while it returns none; an exception it throws
     * ends the wait.
     *
     * @throws AssertionError naming {@code what} when {@code deadline} passes first
     */
    public static <T> T value(String what, Duration deadline, Callable<Optional<T>> attempt) throws Exception {
        long end = System.nanoTime() + deadline.toNanos();
        while (true) {
            Optional<T> value = attempt.call();
            if (value.isPresent()) {
                return value.get();
            }
            if (System.nanoTime() - end > 0) {
                throw new AssertionError("awaited " + what + " for " + deadline + ", in vain");
            }
            Thread.sleep(POLL_INTERVAL.toMillis()); // the polling interval, not a synchronisation: the attempt decides
        }
    }
}
