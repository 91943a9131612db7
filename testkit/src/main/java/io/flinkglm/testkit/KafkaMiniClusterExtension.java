package io.flinkglm.testkit;

import io.flinkglm.runtime.model.DType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * What a test class of Kafka jobs needs, set up once: a Flink MiniCluster (one task manager; jobs the test
 * builds with {@code StreamExecutionEnvironment.getExecutionEnvironment()} run on it), an
 * {@link EmbeddedKafkaBroker}, and optionally a {@link TinyModel} to load. Each test gets names of its own
 * ({@link #name}, {@link #topic}), so tests of one class never read each other's records or transactions.
 * Register it on a static field. A module's tests may extend it with their own helpers (the examples' job
 * configurations), passing their cluster's shape to the constructor.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final KafkaMiniClusterExtension KAFKA = KafkaMiniClusterExtension.withSlots(2).withTinyModel(DType.BF16, 13);
 *
 * @Test
 * void answersEveryPrompt() throws Exception {
 *     String prompts = KAFKA.topic("prompts");            // created, with 2 partitions
 *     KAFKA.produce(List.of(new ProducerRecord<>(prompts, key, value)));
 *     ... job on KAFKA.bootstrapServers(), model at KAFKA.model() ...
 *     List<Completion> answers = KAFKA.readCommitted(KAFKA.topic("completions"), serde::decode);
 * }
 * }</pre>
 */
public class KafkaMiniClusterExtension
        implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {

    /** Partitions of a topic made by {@link #topic(String)}: more than one, so keying and ordering are tested. */
    public static final int DEFAULT_PARTITIONS = 2;
    /** Reading a finished job's output to its end; a passing read takes well under a second. */
    public static final Duration READ_TIMEOUT = Duration.ofSeconds(60);
    /** Tests started in this JVM, across classes: numbers each test's names, so two runs of one method differ. */
    private static final AtomicInteger TESTS = new AtomicInteger();
    /** Kafka topic names are at most 249 characters; this leaves room for what a test appends. */
    private static final int MAX_METHOD_CHARS = 40;

    private final int slots;
    private final DType modelDType; // null: no model
    private final long modelSeed;
    private final MiniClusterExtension flink;

    private EmbeddedKafkaBroker broker;
    private Path modelDir;
    private String testPrefix;

    /** {@code slots} slots in the one task manager; a tiny model from {@code modelSeed}, none if {@code modelDType} is null. */
    protected KafkaMiniClusterExtension(int slots, DType modelDType, long modelSeed) {
        if (slots < 1) {
            throw new IllegalArgumentException("a MiniCluster needs at least one slot, not " + slots);
        }
        this.slots = slots;
        this.modelDType = modelDType;
        this.modelSeed = modelSeed;
        this.flink = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
                .setNumberTaskManagers(1)
                .setNumberSlotsPerTaskManager(slots)
                .build());
    }

    /** A MiniCluster of one task manager with {@code slots} slots, and a broker; no model. */
    public static KafkaMiniClusterExtension withSlots(int slots) {
        return new KafkaMiniClusterExtension(slots, null, 0);
    }

    /** The same, and before the first test a {@link TinyModel} of {@code dtype} weights from {@code seed}. */
    public KafkaMiniClusterExtension withTinyModel(DType dtype, long seed) {
        return new KafkaMiniClusterExtension(slots, dtype, seed);
    }

    @Override
    public final void beforeAll(ExtensionContext context) throws Exception {
        if (modelDType != null) {
            modelDir = Files.createTempDirectory("flink-glm-tiny-model-");
            TinyModel.write(modelDir, modelDType, modelSeed);
        }
        broker = EmbeddedKafkaBroker.start();
        flink.beforeAll(context);
    }

    @Override
    public final void beforeEach(ExtensionContext context) throws Exception {
        String method = context.getTestMethod().map(m -> m.getName()).orElse("test");
        testPrefix = "t" + TESTS.incrementAndGet() + "-"
                + method.substring(0, Math.min(method.length(), MAX_METHOD_CHARS));
        flink.beforeEach(context);
    }

    @Override
    public final void afterEach(ExtensionContext context) throws Exception {
        flink.afterEach(context);
        testPrefix = null;
    }

    @Override
    public final void afterAll(ExtensionContext context) throws Exception {
        try {
            flink.afterAll(context);
        } finally {
            try {
                if (broker != null) {
                    broker.close();
                }
            } finally {
                if (modelDir != null) {
                    EmbeddedKafkaBroker.deleteRecursively(modelDir);
                }
            }
        }
    }

    /** The broker; started before the first test, closed after the last. */
    public EmbeddedKafkaBroker broker() {
        return checkStarted(broker, "the broker");
    }

    public String bootstrapServers() {
        return broker().bootstrapServers();
    }

    /** The tiny model's directory, given {@link #withTinyModel}. */
    public Path model() {
        if (modelDType == null) {
            throw new IllegalStateException("no model: register the extension withTinyModel(dtype, seed)");
        }
        return checkStarted(modelDir, "the model");
    }

    /**
     * {@code local} made unique to the running test, {@code <test>.<local>}: for topics, consumer groups and
     * transactional id prefixes, which a broker shared by a test class would otherwise mix.
     */
    public String name(String local) {
        return checkStarted(testPrefix, "a test's names (called outside a test?)") + "." + local;
    }

    /** {@link #name(String)}, created as a topic of {@link #DEFAULT_PARTITIONS} partitions. */
    public String topic(String local) throws InterruptedException {
        return topic(local, DEFAULT_PARTITIONS);
    }

    /** {@link #name(String)}, created as a topic of {@code partitions} partitions (left as it is if it exists). */
    public String topic(String local, int partitions) throws InterruptedException {
        String topic = name(local);
        broker().createTopic(topic, partitions);
        return topic;
    }

    /** Sends the records in order, each acknowledged before the next; returns where each was written. */
    public List<RecordMetadata> produce(List<ProducerRecord<byte[], byte[]>> records) throws Exception {
        Map<String, Object> props = new HashMap<>(broker().clientProperties());
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        List<RecordMetadata> written = new ArrayList<>();
        try (var producer = new KafkaProducer<byte[], byte[]>(props)) {
            for (ProducerRecord<byte[], byte[]> record : records) {
                written.add(producer.send(record).get());
            }
        }
        return written;
    }

    /** {@link CommittedRecords#read} of {@code topic} on this broker, within {@link #READ_TIMEOUT}. */
    public <T> List<T> readCommitted(String topic, CommittedRecords.Decoder<T> decoder) throws TimeoutException {
        return CommittedRecords.read(broker().clientProperties(), topic, decoder, READ_TIMEOUT);
    }

    private static <T> T checkStarted(T value, String what) {
        if (value == null) {
            throw new IllegalStateException(what + " exists only while the extension runs: register it with"
                    + " @RegisterExtension on a static field");
        }
        return value;
    }
}
