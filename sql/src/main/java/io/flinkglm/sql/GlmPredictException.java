package io.flinkglm.sql;

import org.apache.flink.annotation.PublicEvolving;

/** A row the model could not answer, under {@code 'error-handling-strategy' = 'fail'}: fails the job. */
@PublicEvolving
public final class GlmPredictException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public GlmPredictException(String message) {
        super(message);
    }
}
