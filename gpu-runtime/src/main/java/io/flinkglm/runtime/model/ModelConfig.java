package io.flinkglm.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The shape of a GLM-4 network, read from a checkpoint's {@code config.json}.
 *
 * <p>Both layouts of ../shared/glm4/SPEC.md are accepted: Hugging Face ({@code model_type: glm},
 * {@code GlmForCausalLM}) and the original THUDM one ({@code ChatGLMModel}: {@code kv_channels},
 * {@code multi_query_group_num}, {@code ffn_hidden_size}, {@code rope_ratio}, ...).
 *
 * <pre>{@code
 * ModelConfig config = ModelConfig.read(Path.of("glm-4-9b-chat-hf"));
 * int kvBytes = config.kvBytesPerToken(4);
 * }</pre>
 */
@PublicEvolving
public record ModelConfig(
        Layout layout,
        int hiddenSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int intermediateSize,
        int vocabSize,
        int maxPositions,
        double ropeTheta,
        double partialRotaryFactor,
        double rmsNormEps,
        List<Integer> eosTokenIds,
        String torchDtype) {

    /** Exclusive bound on rms_norm_eps: see the check in the constructor. */
    public static final double MAX_RMS_NORM_EPS = 1.0;

    /** Which tensor names and config keys the checkpoint uses. */
    public enum Layout { HF, THUDM }

    public ModelConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
        requirePositive("hidden_size", hiddenSize);
        requirePositive("num_hidden_layers", numLayers);
        requirePositive("num_attention_heads", numHeads);
        requirePositive("num_key_value_heads", numKvHeads);
        requirePositive("head_dim", headDim);
        requirePositive("intermediate_size", intermediateSize);
        requirePositive("vocab_size", vocabSize);
        requirePositive("max_position_embeddings", maxPositions);
        if (numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException("num_attention_heads " + numHeads
                    + " is not a multiple of num_key_value_heads " + numKvHeads);
        }
        int rotary = (int) Math.round(headDim * partialRotaryFactor);
        if (!(partialRotaryFactor > 0 && partialRotaryFactor <= 1) || rotary % 2 != 0) {
            throw new IllegalArgumentException("partial_rotary_factor " + partialRotaryFactor
                    + " must give an even rotary dimension within head_dim " + headDim);
        }
        // Products the forward pass takes in int arithmetic must fit it.
        requireFitsInt("num_attention_heads * head_dim", (long) numHeads * headDim);
        requireFitsInt("2 * intermediate_size * hidden_size", 2L * intermediateSize * hiddenSize);
        requireFitsInt("vocab_size * hidden_size", (long) vocabSize * hiddenSize);
        if (!(ropeTheta > 0) || Double.isInfinite(ropeTheta)) {
            throw new IllegalArgumentException("rope_theta must be a finite number above 0 but is " + ropeTheta
                    + (layout == Layout.THUDM ? " (10000 * rope_ratio)" : ""));
        }
        // Real checkpoints use 1e-6..1e-5; an epsilon of 1 or more would swamp the mean square it guards.
        if (!(rmsNormEps >= 0 && rmsNormEps < MAX_RMS_NORM_EPS)) {
            throw new IllegalArgumentException((layout == Layout.THUDM ? "layernorm_epsilon" : "rms_norm_eps")
                    + " must be at least 0 and below " + MAX_RMS_NORM_EPS + " but is " + rmsNormEps);
        }
        for (int id : eosTokenIds) {
            if (id < 0 || id >= vocabSize) {
                throw new IllegalArgumentException("eos_token_id " + id + " is outside the vocabulary of "
                        + vocabSize + " (vocab_size)");
            }
        }
    }

    private static void requireFitsInt(String what, long value) {
        if (value > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(what + " is " + value + ", more than one Java array holds");
        }
    }

    private static void requirePositive(String key, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(key + " must be positive but is " + value);
        }
    }

    /** Dimensions that rotate: the first {@code headDim * partial_rotary_factor} of each head. */
    public int rotaryDim() {
        return (int) Math.round(headDim * partialRotaryFactor);
    }

    public int qDim() {
        return numHeads * headDim;
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** KV bytes per token over all layers (K and V) at the given element width. */
    public long kvBytesPerToken(int bytesPerElement) {
        return (long) numLayers * 2 * kvDim() * bytesPerElement;
    }

    /** Parameters of the network, embeddings and lm_head included. */
    public long parameterCount() {
        long perLayer = 2L * hiddenSize                              // two norms
                + (long) hiddenSize * (qDim() + 2L * kvDim())        // q, k, v
                + qDim() + 2L * kvDim()                              // their biases
                + (long) qDim() * hiddenSize                         // o_proj
                + 3L * hiddenSize * intermediateSize;                // gate_up + down
        return 2L * vocabSize * hiddenSize + hiddenSize + numLayers * perLayer;
    }

    /** Reads {@code config.json} from a model directory. */
    public static ModelConfig read(Path modelDir) throws IOException {
        Path file = modelDir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(file, "not found: a model directory needs config.json");
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(file, "is not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(file, "must hold a JSON object");
        }
        try {
            return parse(root);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, e.getMessage());
        }
    }

    /** Parses a config object in either layout. */
    public static ModelConfig parse(JsonNode c) {
        boolean thudm = c.has("kv_channels") || c.has("multi_query_group_num")
                || "chatglm".equals(text(c, "model_type"));
        if (thudm) {
            int hidden = integer(c, "hidden_size");
            int heads = integer(c, "num_attention_heads");
            double ropeRatio = c.has("rope_ratio") ? number(c, "rope_ratio") : 1.0;
            return new ModelConfig(Layout.THUDM, hidden, integer(c, "num_layers"), heads,
                    c.path("multi_query_attention").asBoolean(true) && c.has("multi_query_group_num")
                            ? integer(c, "multi_query_group_num") : heads,
                    c.has("kv_channels") ? integer(c, "kv_channels") : hidden / heads,
                    integer(c, "ffn_hidden_size"),
                    c.has("padded_vocab_size") ? integer(c, "padded_vocab_size") : integer(c, "vocab_size"),
                    c.has("seq_length") ? integer(c, "seq_length") : 8192,
                    10000.0 * ropeRatio,
                    0.5, // ChatGLM rotates half of each head
                    c.has("layernorm_epsilon") ? number(c, "layernorm_epsilon") : 1e-5,
                    ids(c, "eos_token_id"),
                    c.has("torch_dtype") ? text(c, "torch_dtype") : "bfloat16");
        }
        int hidden = integer(c, "hidden_size");
        int heads = integer(c, "num_attention_heads");
        return new ModelConfig(Layout.HF, hidden, integer(c, "num_hidden_layers"), heads,
                c.has("num_key_value_heads") ? integer(c, "num_key_value_heads") : heads,
                c.has("head_dim") && !c.get("head_dim").isNull() ? integer(c, "head_dim") : hidden / heads,
                integer(c, "intermediate_size"),
                integer(c, "vocab_size"),
                c.has("max_position_embeddings") ? integer(c, "max_position_embeddings") : 8192,
                c.has("rope_theta") ? number(c, "rope_theta") : 10000.0,
                // SPEC: the -hf config omits it, and for model_type glm a missing value means 0.5.
                c.has("partial_rotary_factor") ? number(c, "partial_rotary_factor") : 0.5,
                c.has("rms_norm_eps") ? number(c, "rms_norm_eps") : 1e-5,
                ids(c, "eos_token_id"),
                c.has("torch_dtype") ? text(c, "torch_dtype") : "float32");
    }

    /** This config as a Hugging Face {@code config.json} object. */
    public ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.putArray("architectures").add("GlmForCausalLM");
        n.put("model_type", "glm");
        n.put("attention_bias", true);
        n.putPOJO("eos_token_id", eosTokenIds);
        n.put("head_dim", headDim);
        n.put("hidden_act", "silu");
        n.put("hidden_size", hiddenSize);
        n.put("intermediate_size", intermediateSize);
        n.put("max_position_embeddings", maxPositions);
        n.put("num_attention_heads", numHeads);
        n.put("num_hidden_layers", numLayers);
        n.put("num_key_value_heads", numKvHeads);
        n.put("partial_rotary_factor", partialRotaryFactor);
        // transformers' GlmConfig defaults pad_token_id to 151329, outside a small test vocabulary.
        n.put("pad_token_id", eosTokenIds.isEmpty() ? 0 : eosTokenIds.get(0));
        n.put("rms_norm_eps", rmsNormEps);
        n.put("rope_theta", ropeTheta);
        n.put("tie_word_embeddings", false);
        n.put("torch_dtype", torchDtype);
        n.put("vocab_size", vocabSize);
        return n;
    }

    private static String text(JsonNode c, String key) {
        JsonNode v = c.get(key);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static int integer(JsonNode c, String key) {
        JsonNode v = c.get(key);
        if (v == null || v.isNull()) {
            throw new IllegalArgumentException("missing required key \"" + key + "\"");
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new IllegalArgumentException("\"" + key + "\" must be an integer but is " + v);
        }
        return v.intValue();
    }

    private static double number(JsonNode c, String key) {
        JsonNode v = c.get(key);
        // Jackson reads 1e999 as Infinity: a number, but not one any field here can take.
        if (v == null || !v.isNumber() || !Double.isFinite(v.doubleValue())) {
            throw new IllegalArgumentException("\"" + key + "\" must be a finite number but is " + v);
        }
        return v.doubleValue();
    }

    private static List<Integer> ids(JsonNode c, String key) {
        JsonNode v = c.get(key);
        List<Integer> out = new ArrayList<>();
        if (v == null || v.isNull()) {
            return out;
        }
        for (JsonNode e : v.isArray() ? v : List.of(v)) {
            if (!e.isIntegralNumber() || !e.canConvertToInt()) {
                throw new IllegalArgumentException("\"" + key + "\" must be an id or a list of ids but is " + v);
            }
            out.add(e.intValue());
        }
        return out;
    }
}
