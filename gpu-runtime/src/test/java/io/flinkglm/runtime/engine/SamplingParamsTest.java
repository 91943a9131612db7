package io.flinkglm.runtime.engine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Every invalid sampling value is refused with a message naming the prompt record's field. */
class SamplingParamsTest {

    static Stream<Arguments> invalidValues() {
        return Stream.of(
                invalid("sampling.max_tokens must be at least 1, got -5", b -> b.maxTokens(-5)),
                invalid("sampling.max_tokens must be at least 1, got 0", b -> b.maxTokens(0)),
                invalid("sampling.temperature", b -> b.temperature(-0.1)),
                invalid("got NaN", b -> b.temperature(Double.NaN)),
                invalid("sampling.temperature", b -> b.temperature(Double.POSITIVE_INFINITY)),
                invalid("sampling.top_p", b -> b.topP(0)),
                invalid("sampling.top_p", b -> b.topP(1.01)),
                invalid("sampling.top_p", b -> b.topP(Double.NaN)),
                invalid("sampling.top_k must be at least 0", b -> b.topK(-1)),
                invalid("sampling.repetition_penalty", b -> b.repetitionPenalty(0)),
                invalid("sampling.repetition_penalty", b -> b.repetitionPenalty(-1)),
                invalid("sampling.repetition_penalty", b -> b.repetitionPenalty(Double.NaN)));
    }

    private static Arguments invalid(String message, Consumer<SamplingParams.Builder> setter) {
        return Arguments.of(message, setter);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidValues")
    void builderRefusesTheValueNamingTheWireField(String message, Consumer<SamplingParams.Builder> setter) {
        assertThatThrownBy(() -> setter.accept(SamplingParams.builder()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }

    @Test
    void recordConstructorChecksTheSameRules() {
        assertThatThrownBy(() -> new SamplingParams(0, 0, 1, 1, 0, -5, java.util.List.of(), java.util.List.of()))
                .hasMessage("sampling.max_tokens must be at least 1, got -5");
    }

    @Test
    void boundaryValuesAreAccepted() {
        SamplingParams p = SamplingParams.builder().temperature(0).topK(0).topP(1).repetitionPenalty(1e-3)
                .maxTokens(Integer.MAX_VALUE).build();

        assertThat(p.maxTokens()).isEqualTo(Integer.MAX_VALUE);
    }
}
