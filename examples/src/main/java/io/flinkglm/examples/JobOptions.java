package io.flinkglm.examples;

import java.time.Duration;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * Options of the example jobs themselves, next to the operator's {@code GlmOptions} and the connectors'
 * {@code KafkaConnectorOptions}; all three are accepted as {@code --key value} arguments.
 *
 * <pre>{@code
 * flink run -c io.flinkglm.examples.BulkInferenceJob flink-glm-examples.jar \
 *     --glm.model.path /models/glm-4-9b-chat-hf --glm.job.checkpoint-interval 30s
 * }</pre>
 */
@PublicEvolving
public final class JobOptions {

    /** The checkpoint interval when neither the job nor the cluster sets one. */
    public static final Duration DEFAULT_CHECKPOINT_INTERVAL = Duration.ofSeconds(10);

    public static final ConfigOption<Duration> CHECKPOINT_INTERVAL = ConfigOptions.key("glm.job.checkpoint-interval")
            .durationType()
            .noDefaultValue()
            .withDescription("Checkpoint interval. The exactly-once sinks commit their Kafka transactions on "
                    + "checkpoints, so this is also how long an answer waits before read_committed readers see it. "
                    + "Unset, the cluster's execution.checkpointing.interval applies, or 10 s when the cluster "
                    + "has checkpointing off (the sinks need checkpoints).");

    public static final ConfigOption<Integer> PARALLELISM = ConfigOptions.key("glm.job.parallelism")
            .intType()
            .noDefaultValue()
            .withDescription("Parallelism of the job; unset keeps the cluster's default.");

    public static final ConfigOption<Boolean> BOUNDED = ConfigOptions.key("glm.job.bounded")
            .booleanType()
            .defaultValue(false)
            .withDescription("Read the input topics up to their ends at start, answer everything, then finish "
                    + "(backfills, the local demo, tests). Unset, the job runs until cancelled.");

    public static final ConfigOption<String> NAME = ConfigOptions.key("glm.job.name")
            .stringType()
            .noDefaultValue()
            .withDescription("Job name shown by Flink; unset, the job's own (e.g. glm chat with tools).");

    public static final ConfigOption<Integer> FAIL_EVERY = ConfigOptions.key("glm.job.fail-every")
            .intType()
            .noDefaultValue()
            .withDescription("For trying out recovery (tests, demos): fail the task writing the completions after "
                    + "every this many answers since it (re)started, on its first glm.job.failing-attempts attempts, "
                    + "so the job then runs through. Each failure restarts every task of the job, the model's "
                    + "included. Unset, no failure is injected.");

    public static final ConfigOption<Integer> FAILING_ATTEMPTS = ConfigOptions.key("glm.job.failing-attempts")
            .intType()
            .defaultValue(3)
            .withDescription("With glm.job.fail-every: how many attempts fail, hence how many restarts the job "
                    + "goes through.");

    private JobOptions() {}
}
