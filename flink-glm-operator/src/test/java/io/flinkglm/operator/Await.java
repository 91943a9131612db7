package io.flinkglm.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.Callable;

/** Waits for a condition a running job makes true (answers in a sink, a checkpoint done). */
final class Await {
    private static final Duration DEADLINE = Duration.ofMinutes(2);

    private Await() {}

    static void until(String what, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.call()) {
            assertThat(System.nanoTime()).as("%s within %s", what, DEADLINE).isLessThan(deadline);
            Thread.sleep(20); // polling interval, not a synchronisation: the condition decides
        }
    }
}
