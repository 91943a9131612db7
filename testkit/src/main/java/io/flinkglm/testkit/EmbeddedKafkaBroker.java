package io.flinkglm.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A real Apache Kafka broker in this JVM: one KRaft node that is both broker and controller, on free
 * loopback ports, with its log directory in a temp folder deleted on {@link #close()}.
 *
 * <p>Internal topics have replication factor 1 and min ISR 1 so transactions and consumer groups work on a
 * single node. Needs the optional {@code kafka_2.13} dependency on the classpath.
 *
 * <p>{@link #startWithSaslPlain} starts it with its client listener on {@code SASL_PLAINTEXT} and the PLAIN
 * mechanism, for tests of jobs against a secured cluster; {@link #clientProperties()} are then what a client
 * needs to connect as the broker's own admin user. The controller listener stays PLAINTEXT.
 *
 * <pre>{@code
 * try (var kafka = EmbeddedKafkaBroker.start()) {
 *     kafka.createTopic("glm.prompts", 2);
 *     producerProps.put("bootstrap.servers", kafka.bootstrapServers());
 * }
 * try (var kafka = EmbeddedKafkaBroker.startWithSaslPlain(Map.of("alice", "alice-secret"))) {
 *     producerProps.putAll(kafka.clientProperties()); // SASL_PLAINTEXT as the admin user
 *     jobConf.setString("glm.kafka.properties.sasl.jaas.config", EmbeddedKafkaBroker.plainJaasConfig("alice", "alice-secret"));
 * }
 * }</pre>
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {

    private static final String LOOPBACK = "127.0.0.1";
    private static final int NODE_ID = 1;
    /** The broker's own user on a SASL listener: inter-broker traffic and {@link #admin()} log in as it. */
    public static final String ADMIN_USER = "admin";
    private static final String ADMIN_PASSWORD = "admin-secret";

    private final Path logDir;
    private final int brokerPort;
    private final KafkaRaftServer server;
    private final Map<String, Object> clientProperties;

    private EmbeddedKafkaBroker(Path logDir, int brokerPort, KafkaRaftServer server, Map<String, Object> security) {
        this.logDir = logDir;
        this.brokerPort = brokerPort;
        this.server = server;
        Map<String, Object> client = new LinkedHashMap<>(security);
        client.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        this.clientProperties = Map.copyOf(client);
    }

    /** Formats a fresh log directory and starts the broker; returns once it accepts clients. */
    public static EmbeddedKafkaBroker start() throws Exception {
        return start(Map.of(), Map.of());
    }

    /**
     * As {@link #start()}, but clients must log in with SASL PLAIN over {@code SASL_PLAINTEXT} as one of
     * {@code users} (name to password) or as {@link #ADMIN_USER}, whose login {@link #clientProperties()} carry.
     */
    public static EmbeddedKafkaBroker startWithSaslPlain(Map<String, String> users) throws Exception {
        Map<String, String> accounts = new LinkedHashMap<>(users);
        accounts.put(ADMIN_USER, ADMIN_PASSWORD);
        // PlainLoginModule's server side reads the accepted users from user_<name>="<password>" entries.
        String jaas = plainJaasConfig(ADMIN_USER, ADMIN_PASSWORD).replace(";", accounts.entrySet().stream()
                .map(user -> " user_" + user.getKey() + "=\"" + user.getValue() + "\"")
                .collect(Collectors.joining()) + ";");
        Map<String, String> broker = new HashMap<>();
        broker.put("sasl.enabled.mechanisms", "PLAIN");
        broker.put("sasl.mechanism.inter.broker.protocol", "PLAIN");
        broker.put("listener.name.sasl_plaintext.plain.sasl.jaas.config", jaas);
        return start(broker, Map.of(
                "security.protocol", "SASL_PLAINTEXT",
                "sasl.mechanism", "PLAIN",
                "sasl.jaas.config", plainJaasConfig(ADMIN_USER, ADMIN_PASSWORD)));
    }

    /** The client's {@code sasl.jaas.config} for logging in as {@code user} with SASL PLAIN. */
    public static String plainJaasConfig(String user, String password) {
        return "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";";
    }

    private static EmbeddedKafkaBroker start(Map<String, String> saslBroker, Map<String, Object> saslClient)
            throws Exception {
        Path logDir = Files.createTempDirectory("flink-glm-kafka-");
        try {
            int brokerPort = freePort();
            int controllerPort = freePort();
            Properties props = brokerProperties(logDir, brokerPort, controllerPort,
                    saslBroker.isEmpty() ? "PLAINTEXT" : "SASL_PLAINTEXT");
            props.putAll(saslBroker);
            format(logDir);
            KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
            server.startup();
            EmbeddedKafkaBroker broker = new EmbeddedKafkaBroker(logDir, brokerPort, server, saslClient);
            broker.awaitReady();
            return broker;
        } catch (Exception | Error e) {
            deleteRecursively(logDir);
            throw e;
        }
    }

    public String bootstrapServers() {
        return LOOPBACK + ":" + brokerPort;
    }

    /** The broker's data directory, deleted on {@link #close()}. */
    public Path logDir() {
        return logDir;
    }

    /** Creates {@code name} with replication factor 1; an existing topic is left as it is. */
    public void createTopic(String name, int partitions) throws InterruptedException {
        createTopic(name, partitions, Map.of());
    }

    /** As {@link #createTopic(String, int)}, with topic configs such as {@code max.message.bytes}. */
    public void createTopic(String name, int partitions, Map<String, String> configs) throws InterruptedException {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(configs))).all().get();
        } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
                throw new IllegalStateException("cannot create topic " + name + " on " + bootstrapServers(), e.getCause());
            }
        }
    }

    /** An admin client; on a SASL broker it logs in as {@link #ADMIN_USER}. */
    public Admin admin() {
        return Admin.create(clientProperties);
    }

    /**
     * What any client needs to reach this broker: {@code bootstrap.servers}, and on a SASL broker the
     * security protocol, mechanism and JAAS login of {@link #ADMIN_USER}.
     */
    public Map<String, Object> clientProperties() {
        return clientProperties;
    }

    @Override
    public void close() {
        try {
            server.shutdown();
            server.awaitShutdown();
        } finally {
            deleteRecursively(logDir);
        }
    }

    /** {@code listener} names the client listener and its security protocol: PLAINTEXT or SASL_PLAINTEXT. */
    private static Properties brokerProperties(Path logDir, int brokerPort, int controllerPort, String listener) {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", String.valueOf(NODE_ID));
        p.put("controller.quorum.voters", NODE_ID + "@" + LOOPBACK + ":" + controllerPort);
        p.put("listeners", listener + "://" + LOOPBACK + ":" + brokerPort + ",CONTROLLER://" + LOOPBACK + ":" + controllerPort);
        p.put("advertised.listeners", listener + "://" + LOOPBACK + ":" + brokerPort);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", listener);
        p.put("listener.security.protocol.map", listener + ":" + listener + ",CONTROLLER:PLAINTEXT");
        p.put("log.dirs", logDir.toString());
        // One node: every internal topic must fit on it, or transactions and groups never become available.
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        // Tests start consumers right away; the default 3 s rebalance delay would only slow them down.
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("num.partitions", "1");
        return p;
    }

    /** What {@code kafka-storage.sh format} does: writes meta.properties and the bootstrap metadata. */
    private static void format(Path logDir) throws Exception {
        new Formatter()
                .setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                .setClusterId(Uuid.randomUuid().toString())
                .setNodeId(NODE_ID)
                .setControllerListenerName("CONTROLLER")
                .setMetadataLogDirectory(logDir.toString())
                .setDirectories(List.of(logDir.toString()))
                .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                .run();
    }

    private void awaitReady() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        try (Admin admin = admin()) {
            while (true) {
                try {
                    if (!admin.describeCluster().nodes().get().isEmpty()) {
                        return;
                    }
                } catch (ExecutionException retry) {
                    // not serving yet
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("Kafka broker in " + logDir + " did not start within 60 s");
                }
                Thread.onSpinWait();
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getByName(LOOPBACK))) {
            return socket.getLocalPort();
        }
    }

    /** Also deletes the extension's model directory: one recursive delete in the kit. */
    static void deleteRecursively(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + dir, e);
        }
    }
}
