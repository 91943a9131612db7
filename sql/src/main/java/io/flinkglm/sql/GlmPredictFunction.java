package io.flinkglm.sql;

import org.apache.flink.annotation.Internal;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.PredictFunction;
import org.apache.flink.util.FlinkRuntimeException;

import java.util.Collection;
import java.util.List;
import java.util.concurrent.ExecutionException;

/**
 * {@code ML_PREDICT} with {@code 'async' = 'false'}: one row at a time per subtask, waiting for its answer.
 * Rows of other subtasks and models still batch with it in the shared engine; within one subtask there
 * is no overlap, so prefer the asynchronous default for throughput.
 */
@Internal
public final class GlmPredictFunction extends PredictFunction {
    private static final long serialVersionUID = 1L;

    private final GlmPredictor predictor;

    GlmPredictFunction(GlmPredictor predictor) {
        this.predictor = predictor;
    }

    @Override
    public void open(FunctionContext context) throws Exception {
        super.open(context);
        predictor.open(context.getMetricGroup());
    }

    @Override
    public Collection<RowData> predict(RowData input) {
        try {
            return List.of(predictor.predict(input).get());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new FlinkRuntimeException("interrupted while the GLM engine answered a row", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new FlinkRuntimeException(e.getCause());
        }
    }

    @Override
    public void close() throws Exception {
        predictor.close();
        super.close();
    }
}
