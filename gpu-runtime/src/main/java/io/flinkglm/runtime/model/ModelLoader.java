package io.flinkglm.runtime.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a checkpoint's tensors into {@link ModelWeights}, checking every name and shape against the
 * config. bf16 matrices stay bf16 in memory (a 9B model needs 18.8 GB, not 37.6 GB), row-major
 * as stored; F16 matrices are widened to f32 at load, because the kernels widen only bf16 (GLM-4
 * ships in bf16).
 */
final class ModelLoader {
    private final Checkpoint ckpt;
    private final ModelConfig config;
    private final LoadProgress progress;
    private final long total;
    private long done;

    private ModelLoader(Checkpoint ckpt, ModelConfig config, LoadProgress progress) {
        this.ckpt = ckpt;
        this.config = config;
        this.progress = progress;
        this.total = ckpt.dataBytes();
    }

    static ModelWeights load(Path dir, ModelConfig config, LoadProgress progress) throws IOException {
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            return new ModelLoader(ckpt, config, progress).weights();
        }
    }

    /**
     * A layer in the weights beyond num_hidden_layers means config.json and the weights disagree
     * about the network; loading only the first layers would compute something else without a sound.
     */
    private void checkNoExtraLayers() {
        Pattern layer = Pattern.compile(config.layout() == ModelConfig.Layout.HF
                ? "model\\.layers\\.(\\d+)\\..*" : "transformer\\.encoder\\.layers\\.(\\d+)\\..*");
        String key = config.layout() == ModelConfig.Layout.HF ? "num_hidden_layers" : "num_layers";
        for (String name : ckpt.names()) {
            Matcher m = layer.matcher(name);
            if (m.matches() && (m.group(1).length() > 9 || Integer.parseInt(m.group(1)) >= config.numLayers())) {
                throw new ModelFormatException(ckpt.fileOf(name).path(), "holds tensor " + name + " of layer "
                        + m.group(1) + ", but config.json's " + key + " is " + config.numLayers()
                        + " (layers 0.." + (config.numLayers() - 1) + ")");
            }
        }
    }

    private ModelWeights weights() throws IOException {
        checkNoExtraLayers();
        boolean hf = config.layout() == ModelConfig.Layout.HF;
        int h = config.hiddenSize();
        int qkvRows = config.qDim() + 2 * config.kvDim();
        Matrix embed = matrix(hf ? "model.embed_tokens.weight" : "transformer.embedding.word_embeddings.weight",
                config.vocabSize(), h);
        List<ModelWeights.Layer> layers = new ArrayList<>();
        for (int i = 0; i < config.numLayers(); i++) {
            String p = hf ? "model.layers." + i + "." : "transformer.encoder.layers." + i + ".";
            Matrix qkv;
            float[] qkvBias;
            if (hf) {
                String a = p + "self_attn.";
                qkv = concatRows(h, new String[] {a + "q_proj.weight", a + "k_proj.weight", a + "v_proj.weight"},
                        config.qDim(), config.kvDim(), config.kvDim());
                qkvBias = concat(vector(a + "q_proj.bias", config.qDim()),
                        vector(a + "k_proj.bias", config.kvDim()), vector(a + "v_proj.bias", config.kvDim()));
            } else {
                qkv = matrix(p + "self_attention.query_key_value.weight", qkvRows, h);
                qkvBias = vector(p + "self_attention.query_key_value.bias", qkvRows);
            }
            layers.add(new ModelWeights.Layer(
                    vector(p + "input_layernorm.weight", h),
                    qkv, qkvBias,
                    matrix(p + (hf ? "self_attn.o_proj.weight" : "self_attention.dense.weight"), h, config.qDim()),
                    vector(p + "post_attention_layernorm.weight", h),
                    matrix(p + (hf ? "mlp.gate_up_proj.weight" : "mlp.dense_h_to_4h.weight"),
                            2 * config.intermediateSize(), h),
                    matrix(p + (hf ? "mlp.down_proj.weight" : "mlp.dense_4h_to_h.weight"),
                            h, config.intermediateSize())));
        }
        float[] norm = vector(hf ? "model.norm.weight" : "transformer.encoder.final_layernorm.weight", h);
        Matrix lmHead = matrix(hf ? "lm_head.weight" : "transformer.output_layer.weight", config.vocabSize(), h);
        return new ModelWeights(embed, layers, norm, lmHead);
    }

    private SafetensorsFile.TensorInfo checked(String name, long... shape) {
        SafetensorsFile.TensorInfo t = ckpt.info(name);
        if (!Arrays.equals(t.shape(), shape)) {
            throw new ModelFormatException(ckpt.fileOf(name).path(), "tensor " + name + " has shape "
                    + Arrays.toString(t.shape()) + " but config.json implies " + Arrays.toString(shape));
        }
        if ((long) shape[0] * (shape.length > 1 ? shape[1] : 1) > Integer.MAX_VALUE - 8) {
            throw new ModelFormatException(ckpt.fileOf(name).path(), "tensor " + name
                    + " has more elements than one Java array holds");
        }
        return t;
    }

    private float[] vector(String name, int n) throws IOException {
        SafetensorsFile.TensorInfo t = checked(name, n);
        float[] v = ckpt.fileOf(name).readFloats(t, 0, n);
        advance(t);
        return v;
    }

    private Matrix matrix(String name, int rows, int cols) throws IOException {
        return concatRows(cols, new String[] {name}, rows);
    }

    /** Reads matrices of equal width into one, rows stacked in the order given. */
    private Matrix concatRows(int cols, String[] names, int... rows) throws IOException {
        SafetensorsFile.TensorInfo[] infos = new SafetensorsFile.TensorInfo[names.length];
        boolean allBf16 = true;
        int totalRows = 0;
        for (int i = 0; i < names.length; i++) {
            infos[i] = checked(names[i], rows[i], cols);
            allBf16 &= infos[i].dtype() == DType.BF16;
            totalRows += rows[i];
        }
        if (names.length == 1) {
            SafetensorsFile f = ckpt.fileOf(names[0]);
            long n = (long) rows[0] * cols;
            Matrix m = allBf16 ? Matrix.ofBf16(rows[0], cols, f.readBf16(infos[0], 0, n))
                    : Matrix.ofFloats(rows[0], cols, f.readFloats(infos[0], 0, n));
            advance(infos[0]);
            return m;
        }
        int at = 0;
        short[] bf = allBf16 ? new short[totalRows * cols] : null;
        float[] fl = allBf16 ? null : new float[totalRows * cols];
        for (int i = 0; i < names.length; i++) {
            SafetensorsFile f = ckpt.fileOf(names[i]);
            int n = rows[i] * cols;
            if (allBf16) {
                System.arraycopy(f.readBf16(infos[i], 0, n), 0, bf, at, n);
            } else {
                System.arraycopy(f.readFloats(infos[i], 0, n), 0, fl, at, n);
            }
            at += n;
            advance(infos[i]);
        }
        return allBf16 ? Matrix.ofBf16(totalRows, cols, bf) : Matrix.ofFloats(totalRows, cols, fl);
    }

    private static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) {
            n += p.length;
        }
        float[] out = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    private void advance(SafetensorsFile.TensorInfo t) {
        done += t.end() - t.begin();
        if (progress != null) {
            progress.loaded(done, total);
        }
    }
}
