package io.flinkglm.runtime.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.Backends;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.backend.cpu.Kernels;
import io.flinkglm.runtime.backend.cpu.MemoryBandwidth;
import io.flinkglm.runtime.backend.cuda.CudaBackend;
import io.flinkglm.runtime.engine.EngineBench;
import io.flinkglm.runtime.engine.Sampler;
import io.flinkglm.runtime.model.Glm4Model;

import java.util.List;
import java.util.SplittableRandom;

/**
 * {@code bench}: batch-1 decode and prefill speed, and decode's weight-streaming bandwidth next to
 * the machine's memory-read bandwidth measured in the same run.
 */
final class BenchCommand implements Command {
    private static final int BLOCK = 16;

    @Override
    public String usage() {
        return "bench --model DIR [--prompt-tokens 128] [--decode-tokens 32] [--backend cpu]"
                + " [--concurrency 1,4,16,64 [--output-tokens 64] [--requests-per-client 2] [--sweep-prompt-tokens 32,512]"
                + " [--history-tokens 1000]]";
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
        try (Backend backend = Backends.create(backendName, model); KvCache kv = backend.newKvCache(table.length, BLOCK)) {
            double measured;
            String bandwidthKind;
            if (backend instanceof CudaBackend gpu) {
                System.err.println("bench: device copy bandwidth");
                measured = gpu.measureCopyBandwidthGbs(1L << 30, 20);
                bandwidthKind = "device memory copy (read + write)";
            } else {
                // As many bytes as one decode step reads, so both see the same share of a large
                // last-level cache (480 MiB on the development machine: half the small model).
                System.err.println("bench: memory-read bandwidth");
                measured = MemoryBandwidth.measure(Math.max(256L << 20, model.weights().bytesPerToken()), 3);
                bandwidthKind = "host memory read, same bytes as a decode step";
            }
            // Warm-up: the same prefill and a few decode steps, so both kernels are compiled before timing.
            System.err.println("bench: warm-up");
            backend.forward(kv, List.of(new SequenceChunk(prompt, 0, table, false)));
            for (int i = 0; i < 4; i++) {
                backend.forward(kv, List.of(new SequenceChunk(new int[] {i}, promptTokens + i, table, false)));
            }

            System.err.println("bench: prefill of " + promptTokens + " tokens");
            long t0 = System.nanoTime();
            float[] logits = backend.forward(kv, List.of(new SequenceChunk(prompt, 0, table, false)))[0][0];
            double prefillSeconds = (System.nanoTime() - t0) / 1e9;

            System.err.println("bench: decode of " + decodeTokens + " tokens at batch 1");
            long t1 = System.nanoTime();
            for (int i = 0; i < decodeTokens; i++) {
                int next = Sampler.argmax(logits);
                logits = backend.forward(kv, List.of(
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
            if (backend instanceof CudaBackend gpu) {
                // Prefill against the GEMM rate: a bf16 weight costs 2 FLOPs per token, 2 bytes per step.
                double gemm = gpu.measureGemmTflops(promptTokens, model.config().intermediateSize() * 2,
                        model.config().hiddenSize(), 20);
                double prefillTflops = bytesPerToken * (promptTokens / prefillSeconds) / 1e12;
                result.put("measured_bf16_gemm_tflops", gemm);
                result.put("prefill_tflops", prefillTflops);
                result.put("prefill_fraction_of_gemm_rate", prefillTflops / gemm);
            }
            result.put("bandwidth_fraction", achieved / measured);
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
}
