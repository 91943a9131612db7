package io.flinkglm.runtime.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.BackendDiagnostics;
import io.flinkglm.runtime.backend.Backends;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.RowSampling;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.backend.cpu.Kernels;
import io.flinkglm.runtime.engine.Sampler;
import io.flinkglm.runtime.engine.SamplingParams;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.tools.CpuMatmulPeak;
import io.flinkglm.runtime.tools.DecodeRoofline;
import io.flinkglm.runtime.tools.EngineBench;
import io.flinkglm.runtime.tools.MemoryBandwidth;

import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * {@code bench}: batch-1 decode and prefill speed, and decode's weight-streaming bandwidth next to
 * the machine's memory bandwidth and matrix-product peak, both measured in the same run; with
 * {@code --step-batches}, each decode step's fraction of that roofline.
 *
 * <p>Lives in the test-jar with the other benchmarks, out of the main jar; {@link Glm} finds it
 * through {@code META-INF/services} when bin/glm puts that jar on the classpath. It sits in the
 * {@code cli} package for the CLI's argument parsing, the rest of its work is in
 * {@code io.flinkglm.runtime.tools}.
 */
public final class BenchCommand implements Command {
    private static final int BLOCK = 16;

    @Override
    public String usage() {
        return "bench --model DIR [--prompt-tokens 128] [--decode-tokens 32] [--backend cpu]"
                + " [--concurrency 1,4,16,64 [--output-tokens 64] [--requests-per-client 2] [--sweep-prompt-tokens 32,512]"
                + " [--history-tokens 1000]] [--step-batches 1,8,32,64 [--step-rounds 3]]";
    }

    @Override
    public Object run(Args args) throws Exception {
        java.nio.file.Path dir = args.path("model");
        int promptTokens = args.integer("prompt-tokens", 128);
        int decodeTokens = args.integer("decode-tokens", 32);
        String backendName = args.string("backend", "cpu");
        int[] concurrency = args.has("concurrency") ? args.integers("concurrency") : null;
        int[] sweepPrompts = args.has("sweep-prompt-tokens") ? args.integers("sweep-prompt-tokens") : new int[] {32, 512};
        if (sweepPrompts.length != 2) {
            throw new Args.UsageException("--sweep-prompt-tokens takes MIN,MAX");
        }
        EngineBench.Options sweepOptions = new EngineBench.Options(args.integer("requests-per-client", 2),
                sweepPrompts[0], sweepPrompts[1], args.integer("output-tokens", 64), 512, 42);
        int historyTokens = args.integer("history-tokens", 1000);
        int[] stepBatches = args.has("step-batches") ? args.integers("step-batches") : new int[0];
        int maxStepBatch = java.util.Arrays.stream(stepBatches).max().orElse(0);
        int stepRounds = args.integer("step-rounds", 3);
        args.rejectUnused();
        Glm4Model model = Glm4Model.load(dir, new StderrProgress("loading"));

        int vocab = model.config().vocabSize();
        SplittableRandom rng = new SplittableRandom(7);
        int[] prompt = rng.ints(promptTokens, 0, vocab).toArray();
        int positions = promptTokens + decodeTokens + 4;
        int[] table = new int[(positions + BLOCK - 1) / BLOCK];
        for (int i = 0; i < table.length; i++) {
            table[i] = i;
        }
        ObjectNode result = Json.object();
        try (Backend backend = Backends.create(backendName, model); KvCache kv = backend.newKvCache(table.length + maxStepBatch, BLOCK)) {
            // The ceilings, measured in this run: a backend with a device of its own measures it;
            // for the CPU, the host's memory and the CPU backend's own matrix product.
            Optional<BackendDiagnostics> device = backend.diagnostics();
            double measured;
            String bandwidthKind;
            double peakGflops;
            String peakKind;
            if (device.isPresent()) {
                System.err.println("bench: device memory bandwidth and matrix-product rate");
                measured = device.get().measureMemoryBandwidthGbs(1L << 30, 20);
                bandwidthKind = device.get().memoryBandwidthKind();
                // Prefill's shape, the largest product a step runs: the GEMM rate a step can reach.
                peakGflops = 1e3 * device.get().measureMatmulTflops(Math.max(promptTokens, 256),
                        model.config().intermediateSize() * 2, model.config().hiddenSize(), 20);
                peakKind = "device matrix product, " + Math.max(promptTokens, 256) + " tokens x gate_up";
            } else {
                // As many bytes as one decode step reads (at most 1 GiB), so both see the same share of a large
                // last-level cache (480 MiB on the development machine: half the small model).
                System.err.println("bench: memory-read bandwidth and matrix-product peak");
                measured = MemoryBandwidth.measure(Math.max(256L << 20, model.weights().bytesPerToken()), 3);
                bandwidthKind = "host memory read, same bytes as a decode step";
                peakGflops = CpuMatmulPeak.gflops(model.weights().lmHead().isBf16(), 1, 400);
                peakKind = "cpu backend's matrix product, 16 tokens, weights in cache";
            }
            DecodeRoofline roofline = new DecodeRoofline(measured, peakGflops);
            // Warm-up: the same prefill and a few decode steps, so both kernels are compiled before timing.
            System.err.println("bench: warm-up");
            backend.forwardLogits(kv, List.of(new SequenceChunk(prompt, 0, table, false)));
            for (int i = 0; i < 4; i++) {
                backend.forwardLogits(kv, List.of(new SequenceChunk(new int[] {i}, promptTokens + i, table, false)));
            }

            System.err.println("bench: prefill of " + promptTokens + " tokens");
            long t0 = System.nanoTime();
            float[] logits = backend.forwardLogits(kv, List.of(new SequenceChunk(prompt, 0, table, false)))[0][0];
            double prefillSeconds = (System.nanoTime() - t0) / 1e9;

            System.err.println("bench: decode of " + decodeTokens + " tokens at batch 1");
            long t1 = System.nanoTime();
            for (int i = 0; i < decodeTokens; i++) {
                int next = Sampler.argmax(logits);
                logits = backend.forwardLogits(kv, List.of(
                        new SequenceChunk(new int[] {next}, promptTokens + i, table, false)))[0][0];
            }
            double decodeSeconds = (System.nanoTime() - t1) / 1e9;

            long bytesPerToken = model.weights().bytesPerToken();
            double decodeRate = decodeTokens / decodeSeconds;
            double achieved = bytesPerToken * decodeRate / 1e9;

            result.put("backend", backend.description());
            result.put("jdk", Runtime.version().toString());
            result.put("simd_width", Kernels.BEST.width());
            result.put("parameters", model.config().parameterCount());
            result.put("prompt_tokens", promptTokens);
            result.put("decode_tokens", decodeTokens);
            result.put("decode_tokens_per_s", decodeRate);
            result.put("prefill_tokens_per_s", promptTokens / prefillSeconds);
            result.put("weight_bytes_per_token", bytesPerToken);
            result.put("achieved_bandwidth_gbs", achieved);
            result.put("measured_bandwidth_gbs", measured);
            result.put("measured_bandwidth_kind", bandwidthKind);
            result.put("measured_matmul_peak_gflops", peakGflops);
            result.put("measured_matmul_peak_kind", peakKind);
            if (device.isPresent()) {
                // Prefill against the GEMM rate: a bf16 weight costs 2 FLOPs per token, 2 bytes per step.
                double prefillTflops = bytesPerToken * (promptTokens / prefillSeconds) / 1e12;
                result.put("measured_bf16_gemm_tflops", peakGflops / 1e3); // gpu/summary.py reads it by this name
                result.put("prefill_tflops", prefillTflops);
                result.put("prefill_fraction_of_gemm_rate", prefillTflops / (peakGflops / 1e3));
                result.putPOJO("prefill_profile_ms",
                        device.get().profileForward(kv, List.of(new SequenceChunk(prompt, 0, table, false))));
            }
            result.put("bandwidth_fraction", achieved / measured);
            if (stepBatches.length > 0) {
                // Rounds alternate over the batches, and each batch keeps its best round: on a shared
                // machine a slow spell then hits one round of every batch rather than one batch.
                System.err.println("bench: backend decode steps at batches " + java.util.Arrays.toString(stepBatches)
                        + ", " + stepRounds + " alternating rounds");
                int[] batches = java.util.Arrays.stream(stepBatches).distinct().toArray();
                double[] best = new double[batches.length];
                double[] bestSampled = new double[batches.length];
                java.util.Arrays.fill(best, Double.POSITIVE_INFINITY);
                java.util.Arrays.fill(bestSampled, Double.POSITIVE_INFINITY);
                for (int round = 0; round < stepRounds; round++) {
                    for (int b = 0; b < batches.length; b++) {
                        best[b] = Math.min(best[b], decodeStepSeconds(backend, kv, promptTokens / BLOCK, table.length,
                                batches[b], false));
                        bestSampled[b] = Math.min(bestSampled[b], decodeStepSeconds(backend, kv, promptTokens / BLOCK,
                                table.length, batches[b], true));
                    }
                }
                ObjectNode steps = result.putObject("decode_step");
                for (int b = 0; b < batches.length; b++) {
                    ObjectNode level = steps.putObject(Integer.toString(batches[b]));
                    level.put("context_tokens", promptTokens / BLOCK * BLOCK);
                    // Positions before the new token, on average over decodeStepSeconds' 8 steps.
                    int context = promptTokens / BLOCK * BLOCK + 4;
                    level.put("step_ms", best[b] * 1e3);
                    // The same step through Backend.step, each row drawn at temperature 0.8, top-p 0.95:
                    // the draw's cost (on the host while the backend copies its logits back).
                    level.put("sampled_step_ms", bestSampled[b] * 1e3);
                    level.put("tokens_per_s", batches[b] / best[b]);
                    level.put("roofline_ms", roofline.seconds(model, batches[b], context) * 1e3);
                    level.put("bound", DecodeRoofline.bytes(model, batches[b], context) / (measured * 1e9)
                            >= DecodeRoofline.flops(model, batches[b], context) / (peakGflops * 1e9) ? "memory" : "compute");
                    level.put("fraction_of_roofline", roofline.fraction(model, batches[b], context, best[b]));
                    if (device.isPresent()) {
                        level.putPOJO("profile_ms", profileDecodeStep(device.get(), kv, promptTokens / BLOCK, table.length, batches[b]));
                    }
                }
            }
        }
        if (concurrency != null) {
            try (Backend backend = Backends.create(backendName, model)) {
                System.err.println("bench: engine sweep over concurrency " + java.util.Arrays.toString(concurrency));
                var sweep = result.putArray("sweep");
                for (EngineBench.Level level : EngineBench.sweep(backend, concurrency, sweepOptions)) {
                    sweep.addPOJO(level.toMap());
                    System.err.println("bench: " + level.toMap());
                }
                System.err.println("bench: second turn sharing a " + historyTokens + "-token history");
                result.putPOJO("prefix_reuse", EngineBench.prefixReuse(backend, historyTokens, 32).toMap());
            }
        }
        return result;
    }

    /** One more decode step like {@link #decodeStepSeconds}'s, with device time per kernel. */
    private static java.util.Map<String, Double> profileDecodeStep(BackendDiagnostics gpu, KvCache kv, int sharedBlocks,
                                                                  int firstFree, int batch) {
        List<SequenceChunk> chunks = new java.util.ArrayList<>(batch);
        for (int s = 0; s < batch; s++) {
            int[] table = new int[sharedBlocks + 1];
            for (int b = 0; b < sharedBlocks; b++) {
                table[b] = b;
            }
            table[sharedBlocks] = firstFree + s;
            chunks.add(new SequenceChunk(new int[] {s + 1}, sharedBlocks * BLOCK + 10, table, false));
        }
        return gpu.profileForward(kv, chunks);
    }

    /**
     * The backend alone, no engine: the mean time of one decode step for {@code batch} sequences
     * that share the prompt's first {@code sharedBlocks} blocks of KV (written by the prefill) and
     * each decode into a block of their own, the first past {@code firstFree}. {@code sampled}:
     * through {@link Backend#step}, each row drawn at temperature 0.8, top-p 0.95; otherwise
     * {@link Backend#forwardLogits}.
     */
    private static double decodeStepSeconds(Backend backend, KvCache kv, int sharedBlocks, int firstFree, int batch,
                                            boolean sampled) {
        final int steps = 8; // within one block, so each sequence needs one block of its own
        int vocab = backend.model().config().vocabSize();
        int[][] tables = new int[batch][sharedBlocks + 1];
        for (int s = 0; s < batch; s++) {
            for (int b = 0; b < sharedBlocks; b++) {
                tables[s][b] = b;
            }
            tables[s][sharedBlocks] = firstFree + s;
        }
        long start = 0;
        for (int i = -1; i < steps; i++) { // step -1 warms up, outside the clock
            if (i == 0) {
                start = System.nanoTime();
            }
            List<SequenceChunk> chunks = new java.util.ArrayList<>(batch);
            List<RowSampling> rows = new java.util.ArrayList<>(batch);
            for (int s = 0; s < batch; s++) {
                int token = (int) ((31L * s + 7L * (i + 1)) % vocab);
                int position = sharedBlocks * BLOCK + i + 1;
                chunks.add(new SequenceChunk(new int[] {token}, position, tables[s], false));
                rows.add(Sampler.row(s, SamplingParams.builder().temperature(0.8).topP(0.95).seed(s).build(),
                        new int[] {token}, position + 1, null, false));
            }
            if (sampled) {
                backend.step(kv, chunks, rows);
            } else {
                backend.forwardLogits(kv, chunks);
            }
        }
        return (System.nanoTime() - start) / 1e9 / steps;
    }
}
