package io.flinkglm.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class AwaitTest {

    @Test
    void returnsTheFirstValueTheAttemptGivesAndStopsTrying() throws Exception {
        AtomicInteger attempts = new AtomicInteger();

        int value = Await.value("the third attempt", () -> {
            int n = attempts.incrementAndGet();
            return n == 3 ? Optional.of(n) : Optional.empty();
        });

        assertThat(value).isEqualTo(3);
        assertThat(attempts).hasValue(3);
    }

    @Test
    void failsAtTheDeadlineNamingWhatWasAwaited() {
        assertThatThrownBy(() -> Await.value("a value that never comes", Duration.ofMillis(100), Optional::empty))
                .isInstanceOf(AssertionError.class)
                .hasMessage("awaited a value that never comes for PT0.1S, in vain");
    }

    @Test
    void anExceptionOfTheAttemptEndsTheWait() {
        AtomicInteger attempts = new AtomicInteger();

        assertThatThrownBy(() -> Await.until("a broken condition", () -> {
            attempts.incrementAndGet();
            throw new IllegalStateException("broken");
        })).isInstanceOf(IllegalStateException.class).hasMessage("broken");
        assertThat(attempts).hasValue(1);
    }
}
