package io.flinkglm.examples;

import io.flinkglm.connectors.kafka.DecodedSplit;
import io.flinkglm.connectors.kafka.RecordKafkaSink;
import io.flinkglm.connectors.kafka.RecordKafkaSource;
import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Decoded;
import io.flinkglm.records.Sourced;
import io.flinkglm.records.WireRecord;
import io.flinkglm.operator.ChatInput;
import io.flinkglm.operator.GlmStreams;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The wiring every example job shares: Kafka topics in, the GLM operator, Kafka topics out, and one
 * dead-letter topic that collects what any step gave up on (undecodable records, operator errors).
 * Sources and sinks take every setting from the job's {@link Configuration}; a job only says which
 * records flow where.
 *
 * <pre>{@code
 * GlmKafkaPipeline pipeline = GlmKafkaPipeline.create(env, JobArguments.parse(args));
 * DataStream<Sourced<Prompt>> prompts = pipeline.read(Prompt.class);
 * GlmStreams.Chat chat = pipeline.chat(prompts.map(ChatInput::ofPrompt, ...).keyBy(...));
 * pipeline.write(chat.completions(), Completion.class);
 * pipeline.execute("my job");
 * }</pre>
 */
public final class GlmKafkaPipeline {

    private final StreamExecutionEnvironment env;
    private final Configuration config;
    private final List<DataStream<DeadLetter>> deadLetters = new ArrayList<>();
    private FailureInjector<?> failureInjector; // the demo's --fail-every; null in real jobs
    private FailureInjector<Completion> answerFailures; // glm.job.fail-every; null in real jobs

    private GlmKafkaPipeline(StreamExecutionEnvironment env, Configuration config) {
        this.env = env;
        this.config = config;
    }

    /**
     * Checkpointing is always on, since the exactly-once sinks commit only on checkpoints: at
     * {@link JobOptions#CHECKPOINT_INTERVAL} when set, else at the cluster's interval, else every 10 s.
     * Without a restart strategy from the job or the cluster, the job restarts with
     * {@link #DEFAULT_RESTART_STRATEGY}.
     */
    public static GlmKafkaPipeline create(StreamExecutionEnvironment env, Configuration config) {
        config.getOptional(JobOptions.CHECKPOINT_INTERVAL).ifPresentOrElse(
                interval -> env.enableCheckpointing(interval.toMillis()),
                () -> {
                    if (!env.getCheckpointConfig().isCheckpointingEnabled()) {
                        env.enableCheckpointing(JobOptions.DEFAULT_CHECKPOINT_INTERVAL.toMillis());
                    }
                });
        if (config.getOptional(RestartStrategyOptions.RESTART_STRATEGY).isEmpty()
                && env.getConfiguration().getOptional(RestartStrategyOptions.RESTART_STRATEGY).isEmpty()) {
            Configuration restart = new Configuration();
            restart.set(RestartStrategyOptions.RESTART_STRATEGY, DEFAULT_RESTART_STRATEGY);
            env.configure(restart);
        }
        config.getOptional(JobOptions.PARALLELISM).ifPresent(env::setParallelism);
        GlmKafkaPipeline pipeline = new GlmKafkaPipeline(env, config);
        config.getOptional(JobOptions.FAIL_EVERY).ifPresent(every -> pipeline.answerFailures =
                new FailureInjector<>(every, config.get(JobOptions.FAILING_ATTEMPTS)));
        return pipeline;
    }

    /**
     * Losing a TaskManager costs two or three restarts: the JobManager redeploys to it until its
     * heartbeat times out (50 s by default). exponential-delay with Flink's defaults (1 s growing to 1 min,
     * unlimited attempts, the backoff reset after an hour without failure) rides that out and still backs
     * off from a job that cannot run; a small fixed-delay budget would fail the job.
     */
    public static final String DEFAULT_RESTART_STRATEGY = "exponential-delay";

    /**
     * What a job's {@code main} does: parses {@code args}, defines the job and runs it on the environment
     * {@code flink run} provides (or a local one). A bad argument prints the known options and exits with 2.
     */
    static void runMain(String[] args, String defaultName, Consumer<GlmKafkaPipeline> job) throws Exception {
        Configuration config;
        try {
            config = JobArguments.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(defaultName + ": " + e.getMessage());
            System.exit(2);
            return;
        }
        GlmKafkaPipeline pipeline = create(StreamExecutionEnvironment.getExecutionEnvironment(), config);
        job.accept(pipeline);
        pipeline.execute(defaultName);
    }

    /** The job's settings; a job may set its own defaults here before the operator is added. */
    public Configuration config() {
        return config;
    }

    /**
     * Reads {@code type} (prompts or tool results) from its topic, each with where it was read (so a later
     * stage's dead letter carries its bytes); records that cannot be decoded go to the dead-letter topic. With {@link JobOptions#BOUNDED} the source stops at the offsets that are the end
     * of the topic when the job starts.
     */
    public <T extends WireRecord> DataStream<Sourced<T>> read(Class<T> type) {
        RecordKafkaSource.Builder<T> builder = RecordKafkaSource.builder(type).configure(config);
        if (config.get(JobOptions.BOUNDED)) {
            builder.setBounded(OffsetsInitializer.latest());
        }
        KafkaSource<Decoded<T>> source = builder.build();
        String name = type.getSimpleName();
        DecodedSplit<T> split = DecodedSplit.of(
                env.fromSource(source, WatermarkStrategy.noWatermarks(), "kafka " + name).uid("source-" + name), type);
        deadLetters.add(split.deadLetters());
        if (failureInjector != null) {
            @SuppressWarnings("unchecked")
            FailureInjector<Sourced<T>> inject = (FailureInjector<Sourced<T>>) failureInjector;
            return split.values().map(inject, Sourced.typeInfo(type)).name("failure injector " + name);
        }
        return split.values();
    }

    /**
     * Fails the task reading each input after every {@code everyRecords} decoded records, on its first
     * {@code failingAttempts} attempts (see {@link FailureInjector}). Call before {@link #read}.
     */
    void injectFailures(int everyRecords, int failingAttempts) {
        this.failureInjector = new FailureInjector<>(everyRecords, failingAttempts);
    }

    /** The GLM chat operator on {@code inputs}; its errors go to the dead-letter topic. */
    public GlmStreams.Chat chat(KeyedStream<ChatInput, String> inputs) {
        GlmStreams.Chat chat = GlmStreams.chat(inputs, config);
        deadLetters.add(chat.errors());
        return chat;
    }

    /**
     * Writes {@code records} to the topic configured for {@code type}, exactly once unless configured otherwise.
     * With {@link JobOptions#FAIL_EVERY}, the completions pass a {@link FailureInjector} on their way.
     */
    public <T extends WireRecord> void write(DataStream<T> records, Class<T> type) {
        if (answerFailures != null && type == Completion.class) {
            @SuppressWarnings("unchecked")
            FailureInjector<T> inject = (FailureInjector<T>) answerFailures;
            records = records.map(inject, records.getType()).name("failure injector " + type.getSimpleName());
        }
        records.sinkTo(RecordKafkaSink.builder(type).configure(config).build())
                .name("kafka " + type.getSimpleName())
                .uid("sink-" + type.getSimpleName());
    }

    /** Adds the dead-letter sink (every dead letter of the job, in one topic) and runs the job. */
    public JobExecutionResult execute(String defaultName) throws Exception {
        writeDeadLetters();
        return env.execute(config.getOptional(JobOptions.NAME).orElse(defaultName));
    }

    /** As {@link #execute}, but returns once the job is submitted (an unbounded job runs until cancelled). */
    public JobClient executeAsync(String defaultName) throws Exception {
        writeDeadLetters();
        return env.executeAsync(config.getOptional(JobOptions.NAME).orElse(defaultName));
    }

    private void writeDeadLetters() {
        if (!deadLetters.isEmpty()) {
            DataStream<DeadLetter> all = deadLetters.get(0);
            for (DataStream<DeadLetter> more : deadLetters.subList(1, deadLetters.size())) {
                all = all.union(more);
            }
            write(all, DeadLetter.class);
        }
    }
}
