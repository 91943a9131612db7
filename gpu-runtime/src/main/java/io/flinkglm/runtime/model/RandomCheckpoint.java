package io.flinkglm.runtime.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.annotation.Internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a random GLM-4-shaped checkpoint in Hugging Face layout (config.json and safetensors,
 * optionally sharded with an index) for tests and benchmarks. Weights are drawn from a seeded
 * generator, so the same preset and seed give the same bytes; norms start at 1 as in training.
 *
 * <pre>{@code
 * ModelConfig config = RandomCheckpoint.preset("tiny", DType.F32);
 * RandomCheckpoint.write(Path.of("models/tiny"), config, DType.F32, 1, 42);
 * }</pre>
 */
@Internal
public final class RandomCheckpoint {
    /** Scale of the random weights: small enough that 40 layers keep activations finite. */
    private static final double WEIGHT_STD = 0.02;
    private static final int PIECE = 1 << 20;

    private RandomCheckpoint() {}

    /**
     * A named shape: {@code tiny} (tests; 2 layers, hidden 64), {@code small} (about 0.6 B
     * parameters, larger than any CPU cache, for benchmarks) or {@code 9b-shape} (glm-4-9b-chat-hf).
     */
    public static ModelConfig preset(String name, DType dtype) {
        String torchDtype = switch (dtype) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            case F32 -> "float32";
        };
        List<Integer> eos = List.of(151329, 151336, 151338);
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "tiny" -> new ModelConfig(ModelConfig.Layout.HF, 64, 2, 4, 2, 16, 128, 1024, 4096,
                    10000.0, 0.5, 1.5625e-07, List.of(), torchDtype);
            case "small" -> new ModelConfig(ModelConfig.Layout.HF, 1536, 16, 12, 2, 128, 4608, 32768, 8192,
                    10000.0, 0.5, 1.5625e-07, List.of(), torchDtype);
            case "9b-shape" -> new ModelConfig(ModelConfig.Layout.HF, 4096, 40, 32, 2, 128, 13696, 151552,
                    131072, 10000.0, 0.5, 1.5625e-07, eos, torchDtype);
            default -> throw new IllegalArgumentException("unknown preset \"" + name + "\": use tiny, small or 9b-shape");
        };
    }

    /** Tensor names and shapes of a config, in the order transformers saves them. */
    public static Map<String, long[]> tensorShapes(ModelConfig c) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("model.embed_tokens.weight", new long[] {c.vocabSize(), c.hiddenSize()});
        for (int i = 0; i < c.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            shapes.put(p + "input_layernorm.weight", new long[] {c.hiddenSize()});
            shapes.put(p + "self_attn.q_proj.weight", new long[] {c.qDim(), c.hiddenSize()});
            shapes.put(p + "self_attn.q_proj.bias", new long[] {c.qDim()});
            shapes.put(p + "self_attn.k_proj.weight", new long[] {c.kvDim(), c.hiddenSize()});
            shapes.put(p + "self_attn.k_proj.bias", new long[] {c.kvDim()});
            shapes.put(p + "self_attn.v_proj.weight", new long[] {c.kvDim(), c.hiddenSize()});
            shapes.put(p + "self_attn.v_proj.bias", new long[] {c.kvDim()});
            shapes.put(p + "self_attn.o_proj.weight", new long[] {c.hiddenSize(), c.qDim()});
            shapes.put(p + "post_attention_layernorm.weight", new long[] {c.hiddenSize()});
            shapes.put(p + "mlp.gate_up_proj.weight", new long[] {2L * c.intermediateSize(), c.hiddenSize()});
            shapes.put(p + "mlp.down_proj.weight", new long[] {c.hiddenSize(), c.intermediateSize()});
        }
        shapes.put("model.norm.weight", new long[] {c.hiddenSize()});
        shapes.put("lm_head.weight", new long[] {c.vocabSize(), c.hiddenSize()});
        return shapes;
    }

    /**
     * Writes config.json and the weights into {@code dir}; with {@code shards > 1} the tensors are
     * spread over {@code model-0000N-of-0000M.safetensors} files with an index. Every tensor,
     * norms and biases included, takes the one dtype given, as transformers saves a bf16 model.
     */
    public static void write(Path dir, ModelConfig config, DType dtype, int shards, long seed,
                             LoadProgress progress) throws IOException {
        if (shards < 1) {
            throw new IllegalArgumentException("shards must be at least 1");
        }
        Files.createDirectories(dir);
        ObjectMapper json = new ObjectMapper();
        json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), config.toJson());

        Map<String, long[]> shapes = tensorShapes(config);
        long total = 0;
        for (long[] s : shapes.values()) {
            total += elements(s) * dtype.bytes();
        }
        List<List<String>> groups = split(shapes, shards, total / shards, dtype);
        Map<String, String> weightMap = new LinkedHashMap<>();
        long[] done = {0};
        for (int g = 0; g < groups.size(); g++) {
            String fileName = groups.size() == 1 ? "model.safetensors"
                    : String.format("model-%05d-of-%05d.safetensors", g + 1, groups.size());
            SafetensorsWriter writer = new SafetensorsWriter();
            for (String name : groups.get(g)) {
                writer.declare(name, dtype, shapes.get(name));
                weightMap.put(name, fileName);
            }
            final long totalBytes = total;
            writer.write(dir.resolve(fileName), (name, sink) -> {
                long n = elements(shapes.get(name));
                boolean norm = name.endsWith("layernorm.weight") || name.equals("model.norm.weight");
                // One generator per tensor, so a tensor's values do not depend on the sharding.
                SplittableRandom rng = new SplittableRandom(seed ^ name.hashCode() * 0x9E3779B97F4A7C15L);
                for (long at = 0; at < n; at += PIECE) {
                    float[] piece = new float[(int) Math.min(PIECE, n - at)];
                    for (int i = 0; i < piece.length; i++) {
                        piece[i] = norm ? 1f : (float) (WEIGHT_STD * gaussianish(rng));
                    }
                    sink.floats(piece);
                    done[0] += (long) piece.length * dtype.bytes();
                    if (progress != null) {
                        progress.loaded(done[0], totalBytes);
                    }
                }
            });
        }
        if (groups.size() > 1) {
            ObjectNode index = json.createObjectNode();
            index.putObject("metadata").put("total_size", total);
            ObjectNode map = index.putObject("weight_map");
            weightMap.forEach(map::put);
            json.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("model.safetensors.index.json").toFile(), index);
        }
    }

    /** Sum of four uniforms, rescaled to unit variance: bell-shaped and four times cheaper than nextGaussian. */
    private static double gaussianish(SplittableRandom rng) {
        return (rng.nextDouble() + rng.nextDouble() + rng.nextDouble() + rng.nextDouble() - 2.0) * Math.sqrt(3.0);
    }

    private static List<List<String>> split(Map<String, long[]> shapes, int shards, long target, DType dtype) {
        List<List<String>> groups = new ArrayList<>();
        List<String> current = new ArrayList<>();
        long bytes = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            if (bytes >= target && groups.size() < shards - 1 && !current.isEmpty()) {
                groups.add(current);
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(e.getKey());
            bytes += elements(e.getValue()) * dtype.bytes();
        }
        groups.add(current);
        return groups;
    }

    private static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
