package io.flinkglm.sql;

import io.flinkglm.operator.GlmOptions;
import io.flinkglm.operator.GlmWorker;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.InferenceEngine;
import io.flinkglm.runtime.engine.RequestHandle;
import io.flinkglm.runtime.model.Fnv1a;
import io.flinkglm.sql.GlmModelOptions.ErrorHandling;
import io.flinkglm.sql.RowRequests.Prepared;
import io.flinkglm.sql.RowRequests.RowRejected;
import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.table.data.ArrayData;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;

import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the sync and the async predict functions share: one subtask's lease on the TaskManager's engine
 * ({@link GlmWorker}, the same registry the DataStream operator uses, always shared), each row's seed,
 * the rows it has in the engine ({@code capacity}), and the error-handling strategy.
 *
 * <pre>{@code
 * predictor.open(metricGroup);
 * predictor.predict(row).thenAccept(out -> ...); // out has the model's OUTPUT columns, in order
 * predictor.close();
 * }</pre>
 */
@Internal
final class GlmPredictor implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The options a row's answer depends on; the seed of a row without a 'seed' column hashes them. */
    private static final List<ConfigOption<?>> ANSWER_OPTIONS = List.of(GlmModelOptions.TASK,
            GlmModelOptions.SYSTEM_PROMPT, GlmModelOptions.MAX_TOKENS, GlmModelOptions.TEMPERATURE,
            GlmModelOptions.TOP_P, GlmModelOptions.TOP_K, GlmModelOptions.REPETITION_PENALTY, GlmModelOptions.STOP,
            GlmModelOptions.SEED, GlmModelOptions.LABELS, GlmModelOptions.MODERATION_POLICY);

    private final String modelName;
    private final ModelSignature signature;
    private final HashMap<String, String> options;
    private final long deadlineAfterMillis; // 0: no deadline

    private transient Configuration config;
    private transient GlmWorker worker;
    private transient RowRequests requests;
    private transient PredictMetrics metrics;
    private transient ErrorHandling errorHandling;
    private transient long optionsSeed;
    private transient AtomicLong rows;
    private transient Admission admission;

    GlmPredictor(String modelName, ModelSignature signature, Map<String, String> options, long deadlineAfterMillis) {
        this.modelName = modelName;
        this.signature = signature;
        this.options = new HashMap<>(options);
        this.deadlineAfterMillis = deadlineAfterMillis;
    }

    void open(MetricGroup group) {
        config = Configuration.fromMap(options);
        Configuration engine = new Configuration();
        engine.set(GlmOptions.MODEL_PATH, config.get(GlmModelOptions.MODEL_PATH));
        engine.set(GlmOptions.BACKEND, config.get(GlmModelOptions.BACKEND));
        engine.set(GlmOptions.KV_CACHE_BYTES, config.get(GlmModelOptions.KV_CACHE_BYTES).getBytes());
        // Always the TaskManager's one engine: every subtask and model on this checkpoint batches together.
        engine.set(GlmOptions.SHARED_ENGINE, true);
        worker = GlmWorker.acquire(engine, "sql-" + modelName);
        try {
            requests = new RowRequests(signature, worker.model(), worker.tokenizer(), worker.engine(), config);
        } catch (RuntimeException e) {
            worker.close();
            throw new IllegalArgumentException("model " + modelName + ": " + e.getMessage(), e);
        }
        metrics = new PredictMetrics(group, worker.engine());
        errorHandling = config.get(GlmModelOptions.ERROR_HANDLING);
        optionsSeed = optionsSeed(config);
        rows = new AtomicLong();
        admission = new Admission(config.get(GlmModelOptions.CAPACITY));
    }

    /** Completes with the row's outputs; exceptionally only under 'fail' or when the engine itself broke. */
    CompletableFuture<RowData> predict(RowData row) {
        long arrival = System.nanoTime();
        metrics.arrived();
        String requestId = modelName + "#" + rows.incrementAndGet();
        long deadline = deadlineAfterMillis > 0 ? System.currentTimeMillis() + deadlineAfterMillis : 0;
        Prepared prepared;
        try {
            prepared = requests.prepare(requestId, row, seedOf(row), deadline);
        } catch (RowRejected e) {
            return rowFailed(e.getMessage());
        }
        CompletableFuture<RowData> answer = new CompletableFuture<>();
        admission.admit(() -> submit(prepared, arrival, answer));
        return answer;
    }

    private void submit(Prepared prepared, long arrival, CompletableFuture<RowData> answer) {
        InferenceEngine engine = worker.engine();
        RequestHandle handle;
        try {
            handle = engine.submit(prepared.request());
        } catch (RuntimeException e) { // engine full, or a request the engine refuses: this row's problem
            admission.finished();
            forward(rowFailed("engine_rejected: " + e.getMessage()), answer);
            return;
        }
        handle.result().whenComplete((result, failure) -> {
            admission.finished();
            if (failure != null) {
                answer.completeExceptionally(failure);
                return;
            }
            if (engine.isClosed() && (result.finishReason() == GenerationResult.FinishReason.ERROR
                    || result.finishReason() == GenerationResult.FinishReason.CANCELLED)) {
                // Says nothing about the row: the engine stopped under it. The task restarts.
                answer.completeExceptionally(new IllegalStateException("the GLM engine of model " + modelName
                        + " stopped: " + RowRequests.ended(result)));
                return;
            }
            try {
                Map<OutputColumn, Object> values = prepared.read().apply(result);
                metrics.answered(arrival, result);
                answer.complete(outputRow(values, null));
            } catch (RowRejected e) {
                forward(rowFailed(e.getMessage()), answer);
            } catch (RuntimeException e) {
                forward(rowFailed("invalid_output: " + e), answer);
            }
        });
    }

    private CompletableFuture<RowData> rowFailed(String reason) {
        metrics.failed();
        if (errorHandling == ErrorHandling.FAIL) {
            return CompletableFuture.failedFuture(new GlmPredictException("model " + modelName + " could not answer a"
                    + " row (" + GlmModelOptions.ERROR_HANDLING.key() + " = 'fail'): " + reason));
        }
        return CompletableFuture.completedFuture(outputRow(Map.of(), reason));
    }

    private static void forward(CompletableFuture<RowData> from, CompletableFuture<RowData> to) {
        from.whenComplete((row, failure) -> {
            if (failure != null) {
                to.completeExceptionally(failure);
            } else {
                to.complete(row);
            }
        });
    }

    private RowData outputRow(Map<OutputColumn, Object> values, String error) {
        GenericRowData row = new GenericRowData(signature.outputs.length);
        for (int i = 0; i < signature.outputs.length; i++) {
            OutputColumn c = signature.outputs[i];
            row.setField(i, c == OutputColumn.ERROR ? (error == null ? null : StringData.fromString(error)) : values.get(c));
        }
        return row;
    }

    /**
     * The row's 'seed' column, or a hash of its input values and the answer options: a row recomputed
     * after a failure, or sent twice, draws the same tokens. FNV-1a, stable across JVMs and releases. The
     * 'priority' and 'tenant' columns decide when a row is served, never what it answers, so they are left out.
     */
    long seedOf(RowData row) {
        if (signature.seedIndex >= 0 && !row.isNullAt(signature.seedIndex)) {
            return signature.seedIsInt ? row.getInt(signature.seedIndex) : row.getLong(signature.seedIndex);
        }
        long h = optionsSeed;
        for (int i = 0; i < signature.inputArity; i++) {
            if (i != signature.seedIndex && i != signature.priorityIndex && i != signature.tenantIndex) {
                h = Fnv1a.mix(h, Fnv1a.hash64(valueText(row, i)));
            }
        }
        return h;
    }

    private String valueText(RowData row, int i) {
        if (row.isNullAt(i)) {
            return "\u0000null";
        }
        if (i != signature.messagesIndex) {
            return row.getString(i).toString();
        }
        ArrayData messages = row.getArray(i);
        StringBuilder s = new StringBuilder();
        for (int m = 0; m < messages.size(); m++) {
            RowData message = messages.isNullAt(m) ? null : messages.getRow(m, 2);
            // Separators no text holds, so ("ab","c") and ("a","bc") hash apart.
            s.append(message == null || message.isNullAt(0) ? "\u0000" : message.getString(0).toString()).append('\u0001')
                    .append(message == null || message.isNullAt(1) ? "\u0000" : message.getString(1).toString()).append('\u0002');
        }
        return s.toString();
    }

    static long optionsSeed(Configuration config) {
        StringBuilder s = new StringBuilder();
        for (ConfigOption<?> option : ANSWER_OPTIONS) {
            s.append(option.key()).append('=').append(config.getOptional(option).map(Object::toString)
                    .orElse(option.hasDefaultValue() ? String.valueOf(option.defaultValue()) : "")).append('\n');
        }
        return Fnv1a.hash64(s.toString());
    }

    PredictMetrics metrics() {
        return metrics;
    }

    void close() {
        if (worker != null) {
            worker.close();
            worker = null;
        }
    }

    /**
     * At most {@code capacity} of this subtask's rows in the engine; the rest wait here in arrival order and
     * are submitted as earlier ones finish (on the engine's thread, which submitting never blocks).
     */
    private static final class Admission {
        private final int capacity;
        private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
        private int inEngine;

        Admission(int capacity) {
            this.capacity = capacity;
        }

        void admit(Runnable submit) {
            synchronized (this) {
                if (inEngine >= capacity) {
                    waiting.add(submit);
                    return;
                }
                inEngine++;
            }
            submit.run();
        }

        void finished() {
            Runnable next;
            synchronized (this) {
                next = waiting.poll();
                if (next == null) {
                    inEngine--;
                }
            }
            if (next != null) {
                next.run();
            }
        }
    }
}
