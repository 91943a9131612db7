package io.flinkglm.sql;

import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.DescribedEnum;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.description.InlineElement;

import java.time.Duration;
import java.util.List;

import static org.apache.flink.configuration.description.TextElement.text;

/**
 * The options of a {@code CREATE MODEL ... WITH ('provider' = 'glm', ...)} statement. Keys carry no
 * {@code glm.} prefix: they live in the model's own WITH clause, as a connector's options do.
 *
 * <pre>{@code
 * CREATE MODEL glm4 INPUT (prompt STRING) OUTPUT (response STRING)
 * WITH ('provider' = 'glm', 'model.path' = '/models/glm-4-9b-chat-hf', 'task' = 'chat', 'max-tokens' = '256');
 * }</pre>
 */
@PublicEvolving
public final class GlmModelOptions {
    private GlmModelOptions() {}

    /** What the model does with each row. */
    public enum Task implements DescribedEnum {
        CHAT("Answer a prompt (or a messages array) as the assistant; may call a tool when tools are given."),
        COMPLETE("Continue the text as it is, without the chat template."),
        MODERATE("Classify the text with the safety classifier: one prefill, no decoding."),
        CLASSIFY("Pick one of 'labels' for the text: softmax over the labels' first tokens, one prefill.");

        private final String description;

        Task(String description) {
            this.description = description;
        }

        @Override
        public InlineElement getDescription() {
            return text(description);
        }

        /** As users write it in SQL. */
        public String sqlName() {
            return name().toLowerCase();
        }
    }

    /** What a row that cannot be answered does. */
    public enum ErrorHandling implements DescribedEnum {
        NULL("The row's outputs are NULL and the 'error' output column, when declared, says why; the job goes on."),
        FAIL("The job fails with the row's error.");

        private final String description;

        ErrorHandling(String description) {
            this.description = description;
        }

        @Override
        public InlineElement getDescription() {
            return text(description);
        }
    }

    /** What a chat or complete row's answer must be. */
    public enum ResponseFormat implements DescribedEnum {
        TEXT("Free text."),
        JSON("A JSON object, compact (no whitespace) and nested at most 5 levels, valid by construction.");

        private final String description;

        ResponseFormat(String description) {
            this.description = description;
        }

        @Override
        public InlineElement getDescription() {
            return text(description);
        }
    }

    public static final ConfigOption<String> MODEL_PATH = ConfigOptions.key("model.path")
            .stringType().noDefaultValue()
            .withDescription("Directory of a GLM-4 checkpoint (Hugging Face or THUDM layout) with its tokenizer, as"
                    + " the TaskManagers see it.");

    public static final ConfigOption<Task> TASK = ConfigOptions.key("task")
            .enumType(Task.class).defaultValue(Task.CHAT)
            .withDescription("chat, complete, moderate or classify; decides which input and output columns the"
                    + " model may declare.");

    public static final ConfigOption<String> SYSTEM_PROMPT = ConfigOptions.key("system-prompt")
            .stringType().noDefaultValue()
            .withDescription("A system message before every chat prompt; for classify, the instructions"
                    + " (default: pick one of the labels).");

    public static final ConfigOption<Integer> MAX_TOKENS = ConfigOptions.key("max-tokens")
            .intType().defaultValue(256)
            .withDescription("Most tokens generated per row (chat, complete); also capped by the context left.");

    public static final ConfigOption<ResponseFormat> RESPONSE_FORMAT = ConfigOptions.key("response-format")
            .enumType(ResponseFormat.class).defaultValue(ResponseFormat.TEXT)
            .withDescription("chat, complete: 'json' makes every answer a JSON object by construction (constrained"
                    + " decoding, as a prompt's response_format {\"type\": \"json_object\"}); 'text' leaves it free.");

    public static final ConfigOption<String> JSON_SCHEMA = ConfigOptions.key("json-schema")
            .stringType().noDefaultValue()
            .withDescription("chat, complete: a JSON schema every answer is valid under by construction (as a prompt's"
                    + " response_format json_schema); a keyword outside the supported subset fails planning, naming it.");

    public static final ConfigOption<Double> TEMPERATURE = ConfigOptions.key("temperature")
            .doubleType().defaultValue(0.0)
            .withDescription("Sampling temperature; 0 is greedy.");

    public static final ConfigOption<Double> TOP_P = ConfigOptions.key("top-p")
            .doubleType().defaultValue(1.0)
            .withDescription("Nucleus sampling threshold; 1 keeps every token.");

    public static final ConfigOption<Integer> TOP_K = ConfigOptions.key("top-k")
            .intType().defaultValue(0)
            .withDescription("Keep the k most likely tokens; 0 keeps every token.");

    public static final ConfigOption<Double> REPETITION_PENALTY = ConfigOptions.key("repetition-penalty")
            .doubleType().defaultValue(1.0)
            .withDescription("Hugging Face's repetition penalty; 1 disables it.");

    public static final ConfigOption<List<String>> STOP = ConfigOptions.key("stop")
            .stringType().asList().noDefaultValue()
            .withDescription("Texts that end generation, separated by ';'.");

    public static final ConfigOption<Long> SEED = ConfigOptions.key("seed")
            .longType().defaultValue(0L)
            .withDescription("Mixed into every row's seed (with the row's input values) when the model has no"
                    + " 'seed' input column; change it to draw other samples for the same rows.");

    public static final ConfigOption<String> BACKEND = ConfigOptions.key("backend")
            .stringType().defaultValue("auto")
            .withDescription("cpu, cuda, or auto (cuda when a device and its libraries load, else cpu).");

    public static final ConfigOption<MemorySize> KV_CACHE_BYTES = ConfigOptions.key("kv-cache-bytes")
            .memoryType().defaultValue(MemorySize.ofMebiBytes(256))
            .withDescription("Size of the engine's paged KV pool. The engine is shared by every model and"
                    + " operator of the TaskManager naming the same checkpoint and backend; the first one to"
                    + " start it sizes it.");

    public static final ConfigOption<Integer> CAPACITY = ConfigOptions.key("capacity")
            .intType().defaultValue(64)
            .withDescription("Rows one subtask has in the engine at once; further rows wait in order until one"
                    + " finishes. ML_PREDICT's 'max-concurrent-operations' bounds the rows in flight in Flink.");

    // A plain string split on ',' (as users write labels), not Flink's ';'-separated list type.
    public static final ConfigOption<String> LABELS = ConfigOptions.key("labels")
            .stringType().noDefaultValue()
            .withDescription("classify: the labels, separated by ',' (e.g. 'positive,negative,neutral'); each"
                    + " label's first token must differ from the others'.");

    public static final ConfigOption<String> MODERATION_POLICY = ConfigOptions.key("moderation.policy")
            .stringType().noDefaultValue()
            .withDescription("moderate: a JSON safety policy file; unset: GLM-4's SafetyBench categories.");

    public static final ConfigOption<Duration> REQUEST_TIMEOUT = ConfigOptions.key("request-timeout")
            .durationType().noDefaultValue()
            .withDescription("How long one row may take in the engine; past it the row is an error"
                    + " (error-handling-strategy). Keep it below ML_PREDICT's 'timeout', which fails the job.");

    public static final ConfigOption<ErrorHandling> ERROR_HANDLING = ConfigOptions.key("error-handling-strategy")
            .enumType(ErrorHandling.class).defaultValue(ErrorHandling.NULL)
            .withDescription("null: a row that cannot be answered (prompt over the context, invalid messages or"
                    + " tools, timeout) gets NULL outputs and its reason in the 'error' column; fail: the job fails.");
}
