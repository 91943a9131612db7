package io.flinkglm.sql;

import io.flinkglm.runtime.constraint.Constraint;
import io.flinkglm.sql.GlmModelOptions.Task;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.ResolvedCatalogModel;
import org.apache.flink.table.factories.FactoryUtil;
import org.apache.flink.table.factories.ModelProviderFactory;
import org.apache.flink.table.functions.AsyncPredictFunction;
import org.apache.flink.table.functions.PredictFunction;
import org.apache.flink.table.ml.AsyncPredictRuntimeProvider;
import org.apache.flink.table.ml.ModelProvider;
import org.apache.flink.table.ml.PredictRuntimeProvider;

import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The {@code glm} model provider: GLM-4 inside the TaskManager, one engine per JVM and checkpoint, every
 * row of every subtask batched onto it. Checks the options and the declared columns when the model is
 * planned, so a typo fails {@code ML_PREDICT} with the valid keys or the column's name, not a running job.
 *
 * <pre>{@code
 * CREATE MODEL guard INPUT (text STRING)
 *   OUTPUT (flagged BOOLEAN, categories ARRAY<STRING>, scores MAP<STRING, DOUBLE>, error STRING)
 *   WITH ('provider' = 'glm', 'model.path' = '/models/glm-4-9b-chat-hf', 'task' = 'moderate');
 * SELECT id, flagged FROM ML_PREDICT(TABLE messages, MODEL guard, DESCRIPTOR(text));
 * }</pre>
 */
@PublicEvolving
public final class GlmModelProviderFactory implements ModelProviderFactory {
    public static final String IDENTIFIER = "glm";

    /** ML_PREDICT's own 'timeout' (MLPredictRuntimeConfigOptions), read by key: that class is the planner's. */
    private static final ConfigOption<Duration> ML_PREDICT_TIMEOUT = ConfigOptions.key("timeout")
            .durationType().noDefaultValue();

    @Override
    public String factoryIdentifier() {
        return IDENTIFIER;
    }

    @Override
    public Set<ConfigOption<?>> requiredOptions() {
        return Set.of(GlmModelOptions.MODEL_PATH);
    }

    @Override
    public Set<ConfigOption<?>> optionalOptions() {
        return new HashSet<>(List.of(GlmModelOptions.TASK, GlmModelOptions.SYSTEM_PROMPT, GlmModelOptions.MAX_TOKENS,
                GlmModelOptions.TEMPERATURE, GlmModelOptions.TOP_P, GlmModelOptions.TOP_K,
                GlmModelOptions.REPETITION_PENALTY, GlmModelOptions.STOP, GlmModelOptions.SEED,
                GlmModelOptions.BACKEND, GlmModelOptions.KV_CACHE_BYTES, GlmModelOptions.CAPACITY,
                GlmModelOptions.LABELS, GlmModelOptions.MODERATION_POLICY, GlmModelOptions.REQUEST_TIMEOUT,
                GlmModelOptions.ERROR_HANDLING, GlmModelOptions.RESPONSE_FORMAT, GlmModelOptions.JSON_SCHEMA));
    }

    @Override
    public ModelProvider createModelProvider(Context context) {
        FactoryUtil.ModelProviderFactoryHelper helper = FactoryUtil.createModelProviderFactoryHelper(this, context);
        helper.validate(); // unknown keys fail here, listing the supported ones
        ReadableConfig options = helper.getOptions();
        String model = context.getObjectIdentifier().asSummaryString();
        Task task = options.get(GlmModelOptions.TASK);
        checkOptions(model, task, options);
        ResolvedCatalogModel catalogModel = context.getCatalogModel();
        ModelSignature signature = ModelSignature.of(model, task, catalogModel.getResolvedInputSchema(),
                catalogModel.getResolvedOutputSchema());
        long requestTimeout = options.getOptional(GlmModelOptions.REQUEST_TIMEOUT).map(Duration::toMillis).orElse(0L);
        return new Provider(model, signature, catalogModel.getOptions(), requestTimeout);
    }

    private static void checkOptions(String model, Task task, ReadableConfig options) {
        if (task == Task.CLASSIFY) {
            labels(model, options);
        } else if (options.getOptional(GlmModelOptions.LABELS).isPresent()) {
            throw new ValidationException("model " + model + ": '" + GlmModelOptions.LABELS.key() + "' is for task"
                    + " classify, but the task is " + task.sqlName());
        }
        boolean formatted = options.get(GlmModelOptions.RESPONSE_FORMAT) != GlmModelOptions.ResponseFormat.TEXT
                || options.getOptional(GlmModelOptions.JSON_SCHEMA).isPresent();
        if (formatted && task != Task.CHAT && task != Task.COMPLETE) {
            throw new ValidationException("model " + model + ": '" + GlmModelOptions.RESPONSE_FORMAT.key() + "' and '"
                    + GlmModelOptions.JSON_SCHEMA.key() + "' shape generated answers (task chat or complete), but the"
                    + " task is " + task.sqlName());
        }
        try {
            answerFormat(options);
        } catch (IllegalArgumentException e) {
            throw new ValidationException("model " + model + ": " + e.getMessage(), e);
        }
        positive(model, GlmModelOptions.MAX_TOKENS, options.get(GlmModelOptions.MAX_TOKENS));
        positive(model, GlmModelOptions.CAPACITY, options.get(GlmModelOptions.CAPACITY));
        try { // the engine's own range checks, so the limits live in one place
            RowRequests.sampling(options, List.of(), 0).build();
        } catch (IllegalArgumentException e) {
            throw new ValidationException("model " + model + ": " + e.getMessage()
                    .replace("sampling.top_p", "'top-p'").replace("sampling.top_k", "'top-k'")
                    .replace("sampling.temperature", "'temperature'")
                    .replace("sampling.repetition_penalty", "'repetition-penalty'"));
        }
    }

    private static void positive(String model, ConfigOption<Integer> option, int value) {
        if (value < 1) {
            throw new ValidationException("model " + model + ": '" + option.key() + "' must be at least 1 but is " + value);
        }
    }

    /**
     * The constraint every chat or complete answer is under, or null for free text. Compiling it here checks
     * the schema at planning.
     *
     * @throws IllegalArgumentException naming the option and, for a schema, the unsupported keyword
     */
    static Constraint answerFormat(ReadableConfig options) {
        Optional<String> schema = options.getOptional(GlmModelOptions.JSON_SCHEMA);
        if (schema.isPresent()) {
            if (options.getOptional(GlmModelOptions.RESPONSE_FORMAT).orElse(null) == GlmModelOptions.ResponseFormat.TEXT) {
                throw new IllegalArgumentException("'" + GlmModelOptions.JSON_SCHEMA.key() + "' makes answers JSON, but '"
                        + GlmModelOptions.RESPONSE_FORMAT.key() + "' = 'text' says free text; drop one of them");
            }
            try {
                return Constraint.jsonSchema(schema.get());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("'" + GlmModelOptions.JSON_SCHEMA.key() + "' is not a supported"
                        + " schema: " + e.getMessage(), e);
            }
        }
        return options.get(GlmModelOptions.RESPONSE_FORMAT) == GlmModelOptions.ResponseFormat.JSON
                ? Constraint.jsonObject() : null;
    }

    /** The classify labels, trimmed, in order: at least two, none blank, none twice. */
    static List<String> labels(ReadableConfig options) {
        return labels("", options);
    }

    private static List<String> labels(String model, ReadableConfig options) {
        String raw = options.getOptional(GlmModelOptions.LABELS).orElseThrow(() -> new ValidationException(
                "model " + model + ": task classify needs '" + GlmModelOptions.LABELS.key()
                        + "', e.g. 'positive,negative,neutral'"));
        List<String> labels = Arrays.stream(raw.split(",")).map(String::strip).toList();
        if (labels.size() < 2 || labels.stream().anyMatch(String::isEmpty)
                || new LinkedHashSet<>(labels).size() != labels.size()) {
            throw new ValidationException("model " + model + ": '" + GlmModelOptions.LABELS.key() + "' must name at"
                    + " least two distinct, non-empty labels separated by ',' but is '" + raw + "'");
        }
        return labels;
    }

    /** Both runtime kinds: ML_PREDICT picks the async one unless its config says {@code 'async' = 'false'}. */
    private static final class Provider implements AsyncPredictRuntimeProvider, PredictRuntimeProvider {
        private final String model;
        private final ModelSignature signature;
        private final Map<String, String> options;
        private final long requestTimeoutMillis;

        Provider(String model, ModelSignature signature, Map<String, String> options, long requestTimeoutMillis) {
            this.model = model;
            this.signature = signature;
            this.options = options;
            this.requestTimeoutMillis = requestTimeoutMillis;
        }

        @Override
        public AsyncPredictFunction createAsyncPredictFunction(ModelProvider.Context context) {
            long deadline = requestTimeoutMillis;
            if (deadline == 0) {
                // A row that outlives ML_PREDICT's timeout fails the job; end it a little earlier as the row's
                // own error, so 'error-handling-strategy' decides.
                deadline = context.runtimeConfig().getOptional(ML_PREDICT_TIMEOUT)
                        .map(t -> t.toMillis() * 9 / 10).orElse(0L);
            }
            return new GlmAsyncPredictFunction(new GlmPredictor(model, signature, options, deadline));
        }

        @Override
        public PredictFunction createPredictFunction(ModelProvider.Context context) {
            return new GlmPredictFunction(new GlmPredictor(model, signature, options, requestTimeoutMillis));
        }

        @Override
        public ModelProvider copy() {
            return new Provider(model, signature, options, requestTimeoutMillis);
        }
    }
}
