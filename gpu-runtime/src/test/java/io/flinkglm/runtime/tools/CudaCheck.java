package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.backend.cuda.CudaBackend;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.backend.cpu.CpuBackend;
import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.InferenceEngine;
import io.flinkglm.runtime.engine.Sampler;
import io.flinkglm.runtime.engine.SamplingParams;
import io.flinkglm.runtime.model.Glm4Model;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * The CUDA backend's correctness checks, run on a GPU machine (gpu/run-checks.sh) and by
 * {@code CudaBackendTest} wherever a GPU is present: GPU logits against the CPU backend's float32
 * logits (max|a-b|/max|b| <= 2e-2, bf16), greedy tokens on the golden vectors, batch invariance
 * (alone vs. 32 at once), KV moved GPU -> CPU and CPU -> GPU, and the drawn tokens of
 * {@link Backend#step} ({@link DrawChecks}: equal in steps of 1, 8 and 64 sampled sequences, and
 * after resuming from imported KV). Prints one JSON object; exits 1 when any check fails.
 *
 * <pre>
 * java -cp ... io.flinkglm.runtime.tools.CudaCheck --model /tmp/m-tiny [--vectors DIR]
 * </pre>
 */
public final class CudaCheck {
    static final double TOLERANCE = 2e-2;
    private static final int BLOCK = 16;

    private final Glm4Model model;
    private final CudaBackend gpu;
    private final CpuBackend cpu;
    private final Map<String, Object> results = new LinkedHashMap<>();
    private boolean passed = true;

    private CudaCheck(Glm4Model model, CudaBackend gpu) {
        this.model = model;
        this.gpu = gpu;
        this.cpu = new CpuBackend(model);
    }

    public static void main(String[] args) throws Exception {
        Path modelDir = null;
        Path vectors = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--model" -> modelDir = Path.of(args[i + 1]);
                case "--vectors" -> vectors = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (modelDir == null) {
            System.err.println("usage: CudaCheck --model DIR [--vectors DIR]");
            System.exit(2);
        }
        Map<String, Object> report = run(Glm4Model.load(modelDir), vectors);
        System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(report));
        System.exit(Boolean.TRUE.equals(report.get("passed")) ? 0 : 1);
    }

    /** Runs every check; the map holds each check's figures and a top-level {@code passed}. */
    public static Map<String, Object> run(Glm4Model model, Path vectorsOrNull) throws Exception {
        try (CudaBackend gpu = new CudaBackend(model)) {
            CudaCheck check = new CudaCheck(model, gpu);
            check.results.put("backend", gpu.description());
            check.logitsAgainstCpu();
            check.kvMovesBetweenBackends();
            check.logitsBatchInvariance();
            check.batchInvariance();
            check.draws();
            if (vectorsOrNull != null && Files.isDirectory(vectorsOrNull)) {
                check.goldenGreedy(vectorsOrNull);
            }
            check.results.put("passed", check.passed);
            return check.results;
        }
    }

    /** A 40-token chunk (cuBLAS path) and a 5-token chunk (kernel path) in one step, then 8 decodes. */
    private void logitsAgainstCpu() {
        SplittableRandom random = new SplittableRandom(11);
        int vocab = model.config().vocabSize();
        int[] longPrompt = random.ints(40, 0, vocab).toArray();
        int[] shortPrompt = random.ints(5, 0, vocab).toArray();
        int[] tableA = {0, 1, 2, 3};
        int[] tableB = {4, 5, 6, 7};
        double worst = 0;
        try (KvCache g = gpu.newKvCache(8, BLOCK); KvCache c = cpu.newKvCache(8, BLOCK)) {
            List<SequenceChunk> step = List.of(new SequenceChunk(longPrompt, 0, tableA, true),
                    new SequenceChunk(shortPrompt, 0, tableB, true));
            float[][][] gl = gpu.forwardLogits(g, step);
            float[][][] cl = cpu.forwardLogits(c, step);
            for (int s = 0; s < step.size(); s++) {
                for (int r = 0; r < cl[s].length; r++) {
                    worst = Math.max(worst, relativeError(gl[s][r], cl[s][r]));
                }
            }
            int next = Sampler.argmax(gl[0][gl[0].length - 1]);
            for (int i = 0; i < 8; i++) { // teacher-forced by the GPU's own choice
                List<SequenceChunk> decode = List.of(new SequenceChunk(new int[] {next}, 40 + i, tableA, false));
                float[] gd = gpu.forwardLogits(g, decode)[0][0];
                worst = Math.max(worst, relativeError(gd, cpu.forwardLogits(c, decode)[0][0]));
                next = Sampler.argmax(gd);
            }
        }
        record("logits_vs_cpu", worst <= TOLERANCE, Map.of("max_relative_error", worst, "tolerance", TOLERANCE));
    }

    /** Prefill on one backend, export, import on the other, decode there: logits as if never moved. */
    private void kvMovesBetweenBackends() {
        int vocab = model.config().vocabSize();
        int[] prompt = new SplittableRandom(12).ints(37, 0, vocab).toArray();
        int[] table = {0, 1, 2};
        SequenceChunk prefill = new SequenceChunk(prompt, 0, table, false);
        SequenceChunk decode = new SequenceChunk(new int[] {prompt[3]}, prompt.length, table, false);
        Map<String, Object> figures = new LinkedHashMap<>();
        boolean ok = true;
        for (Backend[] pair : new Backend[][] {{gpu, cpu}, {cpu, gpu}}) {
            Backend from = pair[0];
            Backend to = pair[1];
            try (KvCache a = from.newKvCache(3, BLOCK); KvCache b = to.newKvCache(3, BLOCK);
                 KvCache reference = to.newKvCache(3, BLOCK)) {
                from.forwardLogits(a, List.of(prefill));
                for (int block = 0; block < table.length; block++) {
                    int tokens = Math.min(BLOCK, prompt.length - block * BLOCK);
                    ByteBuffer bytes = ByteBuffer.allocate(a.exportBytes(tokens));
                    a.exportBlock(block, tokens, bytes);
                    bytes.flip();
                    b.importBlock(block, tokens, bytes);
                }
                float[] moved = to.forwardLogits(b, List.of(decode))[0][0];
                to.forwardLogits(reference, List.of(prefill));
                float[] stayed = to.forwardLogits(reference, List.of(decode))[0][0];
                double error = relativeError(moved, stayed);
                String name = (from == gpu ? "gpu_to_cpu" : "cpu_to_gpu");
                figures.put(name + "_max_relative_error", error);
                ok &= error <= TOLERANCE;
            }
        }
        record("kv_between_backends", ok, figures);
    }

    /**
     * The kernels' own invariance, bit for bit: a 5-token chunk's logits alone, and as the 38th of
     * 70 chunks in one step (past the 64 tokens one linear_mma grid row takes).
     */
    private void logitsBatchInvariance() {
        SplittableRandom random = new SplittableRandom(14);
        int vocab = model.config().vocabSize();
        int others = 69;
        int at = 37;
        SequenceChunk target = new SequenceChunk(random.ints(5, 0, vocab).toArray(), 0, new int[] {at}, false);
        float[] alone;
        float[] together;
        try (KvCache kv = gpu.newKvCache(others + 1, BLOCK)) {
            alone = gpu.forwardLogits(kv, List.of(target))[0][0];
        }
        try (KvCache kv = gpu.newKvCache(others + 1, BLOCK)) {
            List<SequenceChunk> step = new ArrayList<>();
            for (int i = 0; i <= others; i++) {
                step.add(i == at ? target : new SequenceChunk(new int[] {random.nextInt(vocab)}, 0, new int[] {i}, false));
            }
            together = gpu.forwardLogits(kv, step)[at][0];
        }
        record("logits_batch_invariance", Arrays.equals(alone, together),
                Map.of("batch", others + 1, "max_abs_difference", maxAbsDifference(alone, together)));
    }

    private static double maxAbsDifference(float[] a, float[] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs((double) a[i] - b[i]));
        }
        return worst;
    }

    /** 32 sampled requests of 5 to 40 prompt tokens: each alone, then all at once, same tokens. */
    private void batchInvariance() throws Exception {
        SplittableRandom random = new SplittableRandom(13);
        int vocab = model.config().vocabSize();
        List<GenerationRequest> requests = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            int[] prompt = random.ints(random.nextInt(5, 41), 0, vocab).toArray();
            requests.add(GenerationRequest.builder("r" + i, prompt)
                    .sampling(SamplingParams.builder().temperature(0.8).topP(0.95).seed(1000 + i).maxTokens(24).build())
                    .build());
        }
        List<int[]> alone = new ArrayList<>();
        try (InferenceEngine engine = engine()) {
            for (GenerationRequest r : requests) {
                alone.add(engine.submit(r).result().get().outputTokens());
            }
        }
        int differing = 0;
        try (InferenceEngine engine = engine()) {
            List<CompletableFuture<GenerationResult>> together = new ArrayList<>();
            for (GenerationRequest r : requests) {
                together.add(engine.submit(r).result());
            }
            for (int i = 0; i < requests.size(); i++) {
                if (!Arrays.equals(alone.get(i), together.get(i).get().outputTokens())) {
                    differing++;
                }
            }
        }
        record("batch_invariance", differing == 0, Map.of("requests", requests.size(), "differing", differing));
    }

    /**
     * The tokens {@link Backend#step} draws (host sampling of the GPU's logits today, the device's
     * own draw once it has one): equal across steps of 1, 8 and 64 sampled sequences, equal when
     * decoding resumes from imported KV, and equal to the host draw on the GPU's own logits.
     */
    private void draws() {
        DrawChecks.Outcome batches = DrawChecks.acrossBatchSizes(gpu);
        record("draws_across_batch_sizes", batches.passed(), batches.figures());
        DrawChecks.Outcome replay = DrawChecks.replayFromImportedKv(gpu);
        record("draws_replayed_from_imported_kv", replay.passed(), replay.figures());
        DrawChecks.Outcome host = DrawChecks.agreesWithHostSampler(gpu);
        record("draws_match_host_sampler", host.passed(), host.figures());
    }

    private InferenceEngine engine() {
        // Room for every prompt in one step, so a prompt is chunked the same alone and together.
        return InferenceEngine.builder(gpu).kvBlocks(32 * 5 + 8).maxRunningSequences(32).maxBatchTokens(2048).build();
    }

    /** Greedy continuations of the reference vectors, computed on the GPU. */
    private void goldenGreedy(Path vectors) throws Exception {
        Map<String, Object> figures = new LinkedHashMap<>();
        boolean ok = true;
        try (Stream<Path> dirs = Files.list(vectors)) {
            for (Path dir : dirs.filter(d -> Files.exists(d.resolve("expected.json"))).sorted().toList()) {
                JsonNode expected = new ObjectMapper().readTree(dir.resolve("expected.json").toFile());
                int[] prompt = ints(expected.get("tokens"));
                int[] greedy = ints(expected.get("greedy"));
                int[] generated = new int[greedy.length];
                int[] table = {0, 1, 2, 3};
                try (CudaBackend backend = new CudaBackend(Glm4Model.load(dir)); KvCache kv = backend.newKvCache(4, BLOCK)) {
                    float[] logits = backend.forwardLogits(kv, List.of(new SequenceChunk(prompt, 0, table, false)))[0][0];
                    for (int i = 0; i < greedy.length; i++) {
                        generated[i] = Sampler.argmax(logits);
                        logits = backend.forwardLogits(kv, List.of(
                                new SequenceChunk(new int[] {generated[i]}, prompt.length + i, table, false)))[0][0];
                    }
                }
                boolean same = Arrays.equals(generated, greedy);
                figures.put(dir.getFileName().toString(), same ? "identical" : Arrays.toString(generated));
                ok &= same;
            }
        }
        record("golden_greedy", ok, figures);
    }

    private void record(String check, boolean ok, Map<String, Object> figures) {
        Map<String, Object> entry = new LinkedHashMap<>(figures);
        entry.put("passed", ok);
        results.put(check, entry);
        passed &= ok;
    }

    static double relativeError(float[] actual, float[] reference) {
        double maxDiff = 0;
        double maxRef = 0;
        for (int j = 0; j < reference.length; j++) {
            maxDiff = Math.max(maxDiff, Math.abs(actual[j] - reference[j]));
            maxRef = Math.max(maxRef, Math.abs(reference[j]));
        }
        return maxDiff / maxRef;
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).intValue();
        }
        return out;
    }
}
