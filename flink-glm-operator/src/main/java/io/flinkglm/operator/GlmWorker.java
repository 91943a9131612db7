package io.flinkglm.operator;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.Backends;
import io.flinkglm.runtime.engine.InferenceEngine;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import org.apache.flink.configuration.ReadableConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ref.SoftReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.flink.annotation.Internal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A GLM-4 worker as the operator sees it: the model, its tokenizer and an engine, leased from a
 * JVM-wide registry. The model is loaded once per JVM and path and released when its last lease
 * closes; the engine is one per subtask, or one per TaskManager when {@link GlmOptions#SHARED_ENGINE}
 * is set (one GPU worker per machine, batching every subtask's requests together).
 *
 * <p>When the last lease of a model closes, its backend is closed (no thread outlives the tasks) but
 * the model itself, already in the backend's layout, is kept behind a {@link SoftReference} with a
 * stamp of its files. A task restarted on this TaskManager after a failover runs in the same job
 * classloader, so it finds the model here and builds a backend over it in milliseconds instead of
 * reading and laying out the checkpoint again (seconds for 1 GB, minutes for 19 GB). Nothing pins it:
 * when the job is cancelled its classloader and this registry go with it, the collector clears it
 * before running out of heap, and changed files (size, modification time or inode) force a fresh load.
 *
 * <pre>{@code
 * try (GlmWorker worker = GlmWorker.acquire(config, "chat-3")) {
 *     worker.engine().submit(request);
 * }
 * }</pre>
 */
@Internal
public final class GlmWorker implements AutoCloseable {
    private static final Map<String, Shared<Loaded>> MODELS = new HashMap<>();
    private static final Map<String, Shared<InferenceEngine>> ENGINES = new HashMap<>();
    /** Models no lease uses any more, by model key, for a restarted task to take back (see above). */
    private static final Map<String, SoftReference<Idle>> IDLE = new HashMap<>();
    private static final Logger LOG = LoggerFactory.getLogger(GlmWorker.class);

    /** A model and tokenizer loaded from one directory, with the files' stamp at load time. */
    private record Loaded(Glm4Model model, Glm4Tokenizer tokenizer, Backend backend, String stamp) {}

    /** What is kept of a {@link Loaded} when its backend closes. */
    private record Idle(Glm4Model model, Glm4Tokenizer tokenizer, String stamp) {}

    private static final class Shared<T> {
        final T value;
        int users;

        Shared(T value) {
            this.value = value;
        }
    }

    private final String modelKey;
    private final String engineKey;
    private final Loaded loaded;
    private final InferenceEngine engine;
    private boolean closed;

    private GlmWorker(String modelKey, String engineKey, Loaded loaded, InferenceEngine engine) {
        this.modelKey = modelKey;
        this.engineKey = engineKey;
        this.loaded = loaded;
        this.engine = engine;
    }

    /**
     * Leases a worker. {@code owner} names the subtask; subtasks that share an engine ignore it.
     */
    public static GlmWorker acquire(ReadableConfig config, String owner) {
        String path = config.getOptional(GlmOptions.MODEL_PATH).orElseThrow(() -> new IllegalArgumentException(
                "no model configured: set " + GlmOptions.MODEL_PATH.key() + " to a GLM-4 checkpoint directory"));
        String backendName = config.get(GlmOptions.BACKEND);
        String modelKey = modelKey(path, backendName);
        String engineKey = modelKey + "|" + (config.get(GlmOptions.SHARED_ENGINE) ? "shared" : owner);
        synchronized (GlmWorker.class) {
            int cpuThreads = config.get(GlmOptions.CPU_THREADS);
            if (cpuThreads < 0) {
                throw new IllegalArgumentException(GlmOptions.CPU_THREADS.key() + " must be 0 (automatic) or positive, got "
                        + cpuThreads);
            }
            Shared<Loaded> model = MODELS.computeIfAbsent(modelKey,
                    k -> new Shared<>(loadOrReuse(k, Path.of(path), backendName, cpuThreads)));
            model.users++;
            Shared<InferenceEngine> engine;
            try {
                engine = ENGINES.computeIfAbsent(engineKey,
                        k -> new Shared<>(InferenceEngine.builder(model.value.backend())
                                .kvBytes(config.get(GlmOptions.KV_CACHE_BYTES))
                                .blockSize(config.get(GlmOptions.BLOCK_SIZE))
                                .maxBatchTokens(config.get(GlmOptions.MAX_BATCH_TOKENS))
                                .fairness(config.get(GlmOptions.TENANTS_FAIRNESS))
                                .tenantWeights(TenantScheduling.weights(config))
                                .tokenizer(model.value.tokenizer())
                                .build()));
            } catch (RuntimeException | Error e) { // an OutOfMemoryError for the KV pool too: no lease was handed out
                release(MODELS, modelKey, loaded -> retire(modelKey, loaded));
                throw e;
            }
            engine.users++;
            return new GlmWorker(modelKey, engineKey, model.value, engine.value);
        }
    }

    private static String modelKey(String path, String backendName) {
        return Path.of(path).toAbsolutePath().normalize() + "|" + backendName;
    }

    /** The idle model of {@code key} when its files are unchanged, else a fresh load; then a new backend over it. */
    private static Loaded loadOrReuse(String key, Path dir, String backendName, int cpuThreads) {
        try {
            long started = System.nanoTime();
            String stamp = stamp(dir);
            SoftReference<Idle> kept = IDLE.remove(key);
            Idle idle = kept == null ? null : kept.get();
            boolean reused = idle != null && idle.stamp().equals(stamp);
            Glm4Model model = reused ? idle.model() : Glm4Model.load(dir);
            Glm4Tokenizer tokenizer = reused ? idle.tokenizer() : Glm4Tokenizer.load(dir);
            Backend backend = Backends.create(backendName, model, cpuThreads); // lays out a fresh model
            LOG.info("model {} ready in {} ms ({})", dir, (System.nanoTime() - started) / 1_000_000,
                    reused ? "kept in this JVM since its last task closed" : "read and laid out");
            return new Loaded(model, tokenizer, backend, stamp);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load GLM-4 model from " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Closes a model's backend and keeps the model softly for a task that restarts in this JVM. */
    private static void retire(String key, Loaded loaded) {
        loaded.backend().close();
        IDLE.put(key, new SoftReference<>(new Idle(loaded.model(), loaded.tokenizer(), loaded.stamp())));
    }

    /**
     * The names, sizes, modification times (at the file system's full precision) and file keys (inodes)
     * of the model directory's files: a checkpoint replaced or rewritten in place changes at least one,
     * and reading them costs microseconds, unlike hashing 19 GB.
     */
    private static String stamp(Path dir) throws IOException {
        StringBuilder stamp = new StringBuilder();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
                stamp.append(f.getFileName()).append(':').append(a.size()).append(':')
                        .append(a.lastModifiedTime().toInstant()).append(':').append(a.fileKey()).append(';');
            }
        }
        return stamp.toString();
    }

    public Glm4Model model() {
        return loaded.model();
    }

    public Glm4Tokenizer tokenizer() {
        return loaded.tokenizer();
    }

    public InferenceEngine engine() {
        return engine;
    }

    @Override
    public void close() {
        synchronized (GlmWorker.class) {
            if (closed) {
                return;
            }
            closed = true;
            release(ENGINES, engineKey, InferenceEngine::close);
            release(MODELS, modelKey, loaded -> retire(modelKey, loaded));
        }
    }

    /** Ends one lease of a shared value; the last one closes it. Called holding the class lock. */
    private static <T> void release(Map<String, Shared<T>> registry, String key, Consumer<T> closer) {
        Shared<T> shared = registry.get(key);
        if (--shared.users == 0) {
            registry.remove(key);
            closer.accept(shared.value);
        }
    }

    /** Whether the model of {@code config} is kept idle in this JVM, for a restarted task to take back. */
    static boolean keptIdle(ReadableConfig config) {
        String key = modelKey(config.get(GlmOptions.MODEL_PATH), config.get(GlmOptions.BACKEND));
        synchronized (GlmWorker.class) {
            SoftReference<Idle> kept = IDLE.get(key);
            return kept != null && kept.get() != null;
        }
    }

    /** Drops the idle model of {@code config}, so the next lease reads the checkpoint (benchmarks of a cold load). */
    static void forgetIdle(ReadableConfig config) {
        String key = modelKey(config.get(GlmOptions.MODEL_PATH), config.get(GlmOptions.BACKEND));
        synchronized (GlmWorker.class) {
            IDLE.remove(key);
        }
    }

    /** Engines open in this JVM: none once every lease is closed (tests check that restarts leak none). */
    static int openEngines() {
        synchronized (GlmWorker.class) {
            return ENGINES.size();
        }
    }
}
