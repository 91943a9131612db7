package io.flinkglm.runtime.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.backend.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The original THUDM checkpoint layout (ChatGLMModel config keys, fused query_key_value, other
 * tensor names) loads into the same network: the same weights give the same logits.
 */
class ThudmLayoutTest {

    @Test
    void thudmCheckpointGivesTheSameLogitsAsTheHfOne(@TempDir Path hfDir, @TempDir Path thudmDir) throws IOException {
        RandomCheckpoint.write(hfDir, RandomCheckpoint.preset("tiny", DType.F32), DType.F32, 1, 5, null);
        Glm4Model hf = Glm4Model.load(hfDir);
        writeThudm(hf, thudmDir);

        Glm4Model thudm = Glm4Model.load(thudmDir);

        assertThat(thudm.config().layout()).isEqualTo(ModelConfig.Layout.THUDM);
        int[] tokens = {3, 1, 4, 1, 5, 9, 2, 6};
        assertThat(logits(thudm, tokens)).isEqualTo(logits(hf, tokens));
    }

    private static float[] logits(Glm4Model model, int[] tokens) {
        CpuBackend backend = new CpuBackend(model);
        try (KvCache kv = backend.newKvCache(1, 16)) {
            return backend.forwardLogits(kv, List.of(new SequenceChunk(tokens, 0, new int[] {0}, false)))[0][0];
        }
    }

    private static void writeThudm(Glm4Model model, Path dir) throws IOException {
        ModelConfig c = model.config();
        ObjectNode config = new ObjectMapper().createObjectNode();
        config.putArray("architectures").add("ChatGLMModel");
        config.put("model_type", "chatglm");
        config.put("hidden_size", c.hiddenSize());
        config.put("num_layers", c.numLayers());
        config.put("num_attention_heads", c.numHeads());
        config.put("multi_query_attention", true);
        config.put("multi_query_group_num", c.numKvHeads());
        config.put("kv_channels", c.headDim());
        config.put("ffn_hidden_size", c.intermediateSize());
        config.put("padded_vocab_size", c.vocabSize());
        config.put("seq_length", c.maxPositions());
        config.put("layernorm_epsilon", c.rmsNormEps());
        config.put("rope_ratio", c.ropeTheta() / 10000.0);
        new ObjectMapper().writeValue(dir.resolve("config.json").toFile(), config);

        Map<String, float[]> tensors = new LinkedHashMap<>();
        SafetensorsWriter writer = new SafetensorsWriter();
        ModelWeights w = model.weights();
        add(writer, tensors, "transformer.embedding.word_embeddings.weight", w.embed());
        for (int i = 0; i < c.numLayers(); i++) {
            ModelWeights.Layer l = w.layers().get(i);
            String p = "transformer.encoder.layers." + i + ".";
            add(writer, tensors, p + "input_layernorm.weight", l.inputNorm());
            add(writer, tensors, p + "self_attention.query_key_value.weight", l.qkv());
            add(writer, tensors, p + "self_attention.query_key_value.bias", l.qkvBias());
            add(writer, tensors, p + "self_attention.dense.weight", l.o());
            add(writer, tensors, p + "post_attention_layernorm.weight", l.postNorm());
            add(writer, tensors, p + "mlp.dense_h_to_4h.weight", l.gateUp());
            add(writer, tensors, p + "mlp.dense_4h_to_h.weight", l.down());
        }
        add(writer, tensors, "transformer.encoder.final_layernorm.weight", w.finalNorm());
        add(writer, tensors, "transformer.output_layer.weight", w.lmHead());
        writer.write(dir.resolve("model.safetensors"), (name, sink) -> sink.floats(tensors.get(name)));
    }

    private static void add(SafetensorsWriter writer, Map<String, float[]> tensors, String name, Matrix m) {
        writer.declare(name, DType.F32, m.rows, m.cols);
        float[] rowMajor = new float[m.rows * m.cols];
        for (int r = 0; r < m.rows; r++) {
            m.copyRow(r, rowMajor, r * m.cols);
        }
        tensors.put(name, rowMajor);
    }

    private static void add(SafetensorsWriter writer, Map<String, float[]> tensors, String name, float[] v) {
        writer.declare(name, DType.F32, v.length);
        tensors.put(name, v);
    }
}
