package io.flinkglm.sql;

import org.apache.flink.annotation.Internal;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.functions.AsyncPredictFunction;
import org.apache.flink.table.functions.FunctionContext;

import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * {@code ML_PREDICT}'s default, asynchronous path: each row is submitted to the shared engine at once and
 * completes on the engine's thread, so the up to {@code max-concurrent-operations} rows Flink keeps in
 * flight per subtask (and every other subtask's) decode together in the engine's continuous batches.
 */
@Internal
public final class GlmAsyncPredictFunction extends AsyncPredictFunction {
    private static final long serialVersionUID = 1L;

    private final GlmPredictor predictor;

    GlmAsyncPredictFunction(GlmPredictor predictor) {
        this.predictor = predictor;
    }

    @Override
    public void open(FunctionContext context) throws Exception {
        super.open(context);
        predictor.open(context.getMetricGroup());
    }

    @Override
    public CompletableFuture<Collection<RowData>> asyncPredict(RowData input) {
        return predictor.predict(input).thenApply(List::of);
    }

    @Override
    public void close() throws Exception {
        predictor.close();
        super.close();
    }
}
