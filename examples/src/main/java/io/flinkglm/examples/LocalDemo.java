package io.flinkglm.examples;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkglm.connectors.formats.RecordFormat;
import io.flinkglm.connectors.formats.RecordSerde;
import io.flinkglm.connectors.formats.WireJson;
import io.flinkglm.connectors.kafka.KafkaConnectorOptions;
import io.flinkglm.operator.GlmOptions;
import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.FunctionCall;
import io.flinkglm.records.SafetyVerdict;
import io.flinkglm.records.WireRecord;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.testkit.CommittedRecords;
import io.flinkglm.testkit.EmbeddedKafkaBroker;
import io.flinkglm.testkit.TinyModel;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The whole system on one machine, no cluster and no Kafka installation: an in-process Kafka broker on
 * 127.0.0.1, the prompts of a JSON-lines file written to its prompts topic as they are (a malformed line
 * included), {@link ChatWithToolsJob} on a local MiniCluster reading them to the end, and every output topic
 * read back with {@code read_committed} into a JSON-lines file. Run it with {@code bin/demo}.
 *
 * <p>Lines go to Kafka as bytes, so a line that is not UTF-8 or is over the record size limit becomes a dead
 * letter in the job rather than an error in the demo. {@code --fail-every N} fails the task reading the prompts
 * after every N of them on its first {@value #INJECTED_FAILING_ATTEMPTS} attempts, to show that the output of a
 * job that restarts equals one that does not; the demo's log configuration prints every task failure and job
 * restart, injected or not.
 *
 * <pre>{@code
 * bin/demo --input examples/data/prompts.jsonl --output /tmp/glm-demo.jsonl [--fail-every 2]
 * # /tmp/glm-demo.jsonl: {"topic":"glm.completions","record":{"request_id":"r1",...}} per line
 * bin/demo --sql examples/sql/moderation.sql --input examples/data/prompts.jsonl --output /tmp/verdicts.jsonl
 * # /tmp/verdicts.jsonl: {"topic":"glm.sql.verdicts","record":{"request_id":"r1","flagged":false,...}} per line
 * }</pre>
 *
 * <p>With {@code --sql FILE} the job is that Flink SQL script, run as {@link SqlJob} runs it on a cluster, with
 * {@code ${kafka.bootstrap-servers}} and {@code ${glm.model.path}} naming the demo's broker and model.
 *
 * <p>Without {@code --glm.model.path} it uses {@code models/demo}, writing a random tiny GLM-4 checkpoint there
 * first if it is absent: its answers are fluent-looking nonsense, but they take the production path.
 */
@Internal
public final class LocalDemo {

    static final String DEFAULT_MODEL = "models/demo";
    /** The demo model's weights: F32 from this seed, so every clone's {@code models/demo} answers alike. */
    static final long DEMO_MODEL_SEED = 42;
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(60);

    /** The demo's defaults for a small CPU: a random model never stops on its own, so answers are capped. */
    private static final Map<ConfigOption<?>, Object> DEFAULTS = Map.of(
            GlmOptions.MAX_TOKENS, 24,
            JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(500),
            JobOptions.PARALLELISM, 1);

    /** The output topics, in the order their records are written to {@code --output}. */
    private static final Map<ConfigOption<String>, Class<? extends WireRecord>> OUTPUTS = outputs();

    /** The placeholders of a {@code --sql} script that the demo fills: its broker and its model. */
    static final String BROKER_PLACEHOLDER = "kafka.bootstrap-servers";
    static final String MODEL_PLACEHOLDER = "glm.model.path";
    /** Where {@code --sql} writes the input: the topic the example scripts read. */
    static final String SQL_PROMPTS_TOPIC = "glm.prompts";
    /** The restart strategy's pause: a restart in the demo should be seen, not waited for. */
    private static final Duration RESTART_DELAY = Duration.ofMillis(200);
    /** {@code --fail-every N} fails the first this many attempts of the reading task, so the job then finishes. */
    static final int INJECTED_FAILING_ATTEMPTS = 3;
    /** Room for the record's key, headers and batch framing on top of the longest input line. */
    private static final int RECORD_OVERHEAD_BYTES = 64 * 1024;

    /** What the demo did: records per topic, and the input lines it produced. */
    public record Summary(int inputLines, Map<String, Integer> recordsByTopic, Duration took) {}

    private LocalDemo() {}

    public static void main(String[] args) throws Exception {
        try {
            run(args);
        } catch (IllegalArgumentException e) {
            System.err.println("demo: " + e.getMessage());
            System.err.println("usage: bin/demo --input PROMPTS.jsonl --output OUT.jsonl [--fail-every N]"
                    + " [--glm.<option> value ...]");
            System.err.println("       bin/demo --sql JOB.sql --input PROMPTS.jsonl --output OUT.jsonl"
                    + " [--NAME value for each other ${NAME} in the script]");
            System.exit(2);
        }
        // Kafka and Flink leave non-daemon threads behind for a while; the demo is done.
        System.exit(0);
    }

    /** Runs the demo; {@code --input} and {@code --output} are required, every job option is accepted. */
    public static Summary run(String[] args) throws Exception {
        long start = System.nanoTime();
        Map<String, String> pairs = JobArguments.pairs(args);
        Path input = Path.of(required(pairs.remove("input"), "--input"));
        Path output = Path.of(required(pairs.remove("output"), "--output"));
        int failEvery = failEvery(pairs.remove("fail-every"));
        String sql = pairs.remove("sql");
        if (!Files.isRegularFile(input)) {
            throw new IllegalArgumentException("--input " + input + " is not a file");
        }
        if (sql != null) {
            if (failEvery > 0) {
                throw new IllegalArgumentException("--fail-every applies to the DataStream job, not to --sql scripts");
            }
            return runSql(Path.of(sql), input, output, pairs, start);
        }
        Configuration config = JobArguments.toConfiguration(pairs);
        DEFAULTS.forEach((option, value) -> setDefault(config, option, value));
        setDefault(config, GlmOptions.MODEL_PATH, DEFAULT_MODEL);
        config.set(JobOptions.BOUNDED, true);
        ensureModel(Path.of(config.get(GlmOptions.MODEL_PATH)));

        List<byte[]> lines = inputLines(input);
        int maxMessageBytes = maxMessageBytes(lines);
        try (EmbeddedKafkaBroker kafka = EmbeddedKafkaBroker.start()) {
            config.set(KafkaConnectorOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
            kafka.createTopic(config.get(KafkaConnectorOptions.PROMPTS_TOPIC), 1,
                    Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, String.valueOf(maxMessageBytes)));
            kafka.createTopic(config.get(KafkaConnectorOptions.TOOL_RESULTS_TOPIC), 1);
            for (ConfigOption<String> topic : OUTPUTS.keySet()) {
                kafka.createTopic(config.get(topic), 1);
            }
            Map<String, Object> client = clientProperties(config);
            produceLines(lines, client, maxMessageBytes, config.get(KafkaConnectorOptions.PROMPTS_TOPIC));
            System.err.printf("demo: %d input lines on %s; running %s%s%n",
                    lines.size(), config.get(KafkaConnectorOptions.PROMPTS_TOPIC), ChatWithToolsJob.class.getSimpleName(),
                    failEvery > 0 ? ", failing its reading task after every " + failEvery + " prompts" : "");

            GlmKafkaPipeline pipeline = GlmKafkaPipeline.create(
                    StreamExecutionEnvironment.getExecutionEnvironment(restarts()), config);
            if (failEvery > 0) {
                pipeline.injectFailures(failEvery, INJECTED_FAILING_ATTEMPTS);
            }
            ChatWithToolsJob.define(pipeline);
            pipeline.execute("glm demo");

            Map<String, Integer> counts = writeOutputs(client, config, output);
            Summary summary = new Summary(lines.size(), counts, Duration.ofNanos(System.nanoTime() - start));
            printSummary(summary, output);
            return summary;
        }
    }

    /**
     * {@code --sql FILE}: the script run by {@link SqlJob} on the local MiniCluster instead of {@link ChatWithToolsJob}.
     * The input goes to {@value #SQL_PROMPTS_TOPIC} as for the job; {@code ${kafka.bootstrap-servers}} and
     * {@code ${glm.model.path}} in the script name the demo's broker and model, any other {@code ${name}} the
     * {@code --name value} arguments. The broker is the demo's own, so every other {@code glm.*} topic on it is one
     * the script wrote (the Kafka sinks create their topics); each is read with {@code read_committed} and its
     * records, JSON as the script's format wrote them, go to {@code --output} as
     * {@code {"topic": ..., "record": ...}} lines.
     */
    private static Summary runSql(Path file, Path input, Path output, Map<String, String> values, long start)
            throws Exception {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("--sql " + file + " is not a file");
        }
        Map<String, String> placeholders = new HashMap<>(values);
        placeholders.putIfAbsent(MODEL_PLACEHOLDER, DEFAULT_MODEL);
        ensureModel(Path.of(placeholders.get(MODEL_PLACEHOLDER)));
        List<byte[]> lines = inputLines(input);
        int maxMessageBytes = maxMessageBytes(lines);
        try (EmbeddedKafkaBroker kafka = EmbeddedKafkaBroker.start()) {
            placeholders.put(BROKER_PLACEHOLDER, kafka.bootstrapServers());
            SqlScript script = SqlScript.parse(Files.readString(file), placeholders);
            kafka.createTopic(SQL_PROMPTS_TOPIC, 1,
                    Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, String.valueOf(maxMessageBytes)));
            Map<String, Object> client = new HashMap<>(kafka.clientProperties());
            produceLines(lines, client, maxMessageBytes, SQL_PROMPTS_TOPIC);
            System.err.printf("demo: %d input lines on %s; running %s%n", lines.size(), SQL_PROMPTS_TOPIC, file);

            SqlJob.await(SqlJob.run(script, restarts()).orElseThrow(() -> new IllegalArgumentException(
                    "--sql " + file + " has no INSERT INTO statement, so it writes no output topic")));

            List<String> topics;
            try (var admin = kafka.admin()) {
                topics = admin.listTopics().names().get().stream()
                        .filter(t -> t.startsWith("glm.") && !t.equals(SQL_PROMPTS_TOPIC))
                        .sorted()
                        .toList();
            }
            Map<String, Integer> counts = new LinkedHashMap<>();
            try (BufferedWriter out = newOutput(output)) {
                for (String topic : topics) {
                    List<JsonNode> records = CommittedRecords.read(client, topic, WireJson.MAPPER::readTree, READ_TIMEOUT);
                    for (JsonNode record : records) {
                        writeLine(out, topic, record);
                    }
                    counts.put(topic, records.size());
                }
            }
            Summary summary = new Summary(lines.size(), counts, Duration.ofNanos(System.nanoTime() - start));
            printSummary(summary, output);
            return summary;
        }
    }

    /** The local cluster's restarts: without end, each soon after the failure, so a restart is seen, not waited for. */
    private static Configuration restarts() {
        Configuration cluster = new Configuration();
        cluster.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        cluster.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, Integer.MAX_VALUE);
        cluster.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, RESTART_DELAY);
        return cluster;
    }

    /**
     * Every line must reach the job, an oversized one included, to become a dead letter there rather than fail
     * the producer: the prompts topic and the producer accept the longest line.
     */
    private static int maxMessageBytes(List<byte[]> lines) {
        return Math.max(1_048_588, lines.stream().mapToInt(l -> l.length).max().orElse(0) + RECORD_OVERHEAD_BYTES);
    }

    /** Writes the tiny random checkpoint and its tokenizer unless {@code dir} already holds a model. */
    static void ensureModel(Path dir) throws IOException {
        if (TinyModel.isPresent(dir)) {
            return;
        }
        System.err.println("demo: writing a random tiny GLM-4 checkpoint to " + dir);
        TinyModel.write(dir, DType.F32, DEMO_MODEL_SEED);
    }

    /**
     * The non-blank lines of {@code input} as bytes, split at {@code \n} and nothing else: a line that is not
     * UTF-8 or not JSON must reach the job as it is, to become a dead letter there.
     */
    static List<byte[]> inputLines(Path input) throws IOException {
        byte[] bytes = Files.readAllBytes(input);
        List<byte[]> lines = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= bytes.length; i++) {
            if (i == bytes.length || bytes[i] == '\n') {
                byte[] line = Arrays.copyOfRange(bytes, start, i);
                if (!isBlank(line)) {
                    lines.add(line);
                }
                start = i + 1;
            }
        }
        return lines;
    }

    private static boolean isBlank(byte[] line) {
        for (byte b : line) {
            if (b != ' ' && b != '\t' && b != '\r') {
                return false;
            }
        }
        return true;
    }

    /** Sends each line as one record, byte for byte, keyed by its conversation id when it has one. */
    private static void produceLines(List<byte[]> lines, Map<String, Object> client, int maxMessageBytes, String topic)
            throws Exception {
        Map<String, Object> props = new HashMap<>(client);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        props.putIfAbsent(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, maxMessageBytes);
        try (var producer = new KafkaProducer<byte[], byte[]>(props)) {
            for (byte[] line : lines) {
                String key = conversationIdOf(line);
                producer.send(new ProducerRecord<>(topic, key == null ? null : key.getBytes(UTF_8), line)).get();
            }
        }
    }

    private static String conversationIdOf(byte[] line) {
        try {
            JsonNode id = WireJson.MAPPER.readTree(line).get("conversation_id");
            return id != null && id.isTextual() ? id.asText() : null;
        } catch (IOException | RuntimeException malformed) {
            return null;
        }
    }

    private static int failEvery(String value) {
        if (value == null) {
            return 0;
        }
        try {
            int n = Integer.parseInt(value);
            if (n > 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException("--fail-every takes a positive number of prompts, not \"" + value + "\"");
    }

    /** The demo's own producer and consumer get the job's {@code glm.kafka.properties.*} too. */
    private static Map<String, Object> clientProperties(Configuration config) {
        Map<String, Object> client = new HashMap<>();
        KafkaConnectorOptions.kafkaProperties(config).forEach((key, value) -> client.put((String) key, value));
        client.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.get(KafkaConnectorOptions.BOOTSTRAP_SERVERS));
        return client;
    }

    private static Map<String, Integer> writeOutputs(Map<String, Object> client, Configuration config, Path output)
            throws Exception {
        Map<String, Integer> counts = new LinkedHashMap<>();
        try (BufferedWriter out = newOutput(output)) {
            for (var entry : OUTPUTS.entrySet()) {
                String topic = config.get(entry.getKey());
                RecordSerde<? extends WireRecord> serde = RecordSerde.create(entry.getValue(), RecordFormat.JSON, null, topic);
                List<? extends WireRecord> records = CommittedRecords.read(client, topic, serde::decode, READ_TIMEOUT);
                for (WireRecord record : records) {
                    writeLine(out, topic, WireJson.MAPPER.valueToTree(record));
                }
                counts.put(topic, records.size());
            }
        }
        return counts;
    }

    private static BufferedWriter newOutput(Path output) throws IOException {
        if (output.toAbsolutePath().getParent() != null) {
            Files.createDirectories(output.toAbsolutePath().getParent());
        }
        return Files.newBufferedWriter(output, UTF_8);
    }

    /** One line of {@code --output}: {@code {"topic": ..., "record": ...}}. */
    private static void writeLine(BufferedWriter out, String topic, JsonNode record) throws IOException {
        ObjectNode line = WireJson.MAPPER.createObjectNode();
        line.put("topic", topic);
        line.set("record", record);
        out.write(WireJson.MAPPER.writeValueAsString(line));
        out.newLine();
    }

    private static void printSummary(Summary summary, Path output) {
        StringBuilder counts = new StringBuilder();
        summary.recordsByTopic().forEach((topic, n) -> counts.append(String.format("  %-22s %d%n", topic, n)));
        System.err.printf("demo: %d input lines answered in %.1f s; committed records per topic:%n%s"
                        + "demo: wrote them to %s%n",
                summary.inputLines(), summary.took().toMillis() / 1000.0, counts, output);
    }

    private static Map<ConfigOption<String>, Class<? extends WireRecord>> outputs() {
        Map<ConfigOption<String>, Class<? extends WireRecord>> outputs = new LinkedHashMap<>();
        outputs.put(KafkaConnectorOptions.COMPLETIONS_TOPIC, Completion.class);
        outputs.put(KafkaConnectorOptions.FUNCTION_CALLS_TOPIC, FunctionCall.class);
        outputs.put(KafkaConnectorOptions.SAFETY_VERDICTS_TOPIC, SafetyVerdict.class);
        outputs.put(KafkaConnectorOptions.DEAD_LETTERS_TOPIC, DeadLetter.class);
        return outputs;
    }

    @SuppressWarnings("unchecked")
    private static <T> void setDefault(Configuration config, ConfigOption<T> option, Object value) {
        if (config.getOptional(option).isEmpty()) {
            config.set(option, (T) value);
        }
    }

    private static String required(String value, String flag) {
        if (value == null) {
            throw new IllegalArgumentException(flag + " is required");
        }
        return value;
    }
}
