package io.flinkglm.operator;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.Backends;
import io.flinkglm.runtime.engine.InferenceEngine;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import org.apache.flink.configuration.ReadableConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.flink.annotation.Internal;

/**
 * A GLM-4 worker as the operator sees it: the model, its tokenizer and an engine, leased from a
 * JVM-wide registry. The model is loaded once per JVM and path and released when its last lease
 * closes; the engine is one per subtask, or one per TaskManager when {@link GlmOptions#SHARED_ENGINE}
 * is set (one GPU worker per machine, batching every subtask's requests together).
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

    /** A model and tokenizer loaded from one directory. */
    private record Loaded(Glm4Model model, Glm4Tokenizer tokenizer, Backend backend) {}

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
        String modelKey = Path.of(path).toAbsolutePath().normalize() + "|" + backendName;
        String engineKey = modelKey + "|" + (config.get(GlmOptions.SHARED_ENGINE) ? "shared" : owner);
        synchronized (GlmWorker.class) {
            int cpuThreads = config.get(GlmOptions.CPU_THREADS);
            if (cpuThreads < 0) {
                throw new IllegalArgumentException(GlmOptions.CPU_THREADS.key() + " must be 0 (automatic) or positive, got "
                        + cpuThreads);
            }
            Shared<Loaded> model = MODELS.computeIfAbsent(modelKey,
                    k -> new Shared<>(load(Path.of(path), backendName, cpuThreads)));
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
            } catch (RuntimeException e) {
                release(MODELS, modelKey, loaded -> loaded.backend().close()); // no lease was handed out
                throw e;
            }
            engine.users++;
            return new GlmWorker(modelKey, engineKey, model.value, engine.value);
        }
    }

    private static Loaded load(Path dir, String backendName, int cpuThreads) {
        try {
            Glm4Model model = Glm4Model.load(dir);
            return new Loaded(model, Glm4Tokenizer.load(dir), Backends.create(backendName, model, cpuThreads));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load GLM-4 model from " + dir + ": " + e.getMessage(), e);
        }
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
            release(MODELS, modelKey, loaded -> loaded.backend().close());
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

    /** Engines open in this JVM: none once every lease is closed (tests check that restarts leak none). */
    static int openEngines() {
        synchronized (GlmWorker.class) {
            return ENGINES.size();
        }
    }
}
