package io.flinkglm.runtime.testing;

import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.ModelConfig;
import io.flinkglm.runtime.model.RandomCheckpoint;
import io.flinkglm.runtime.model.SafetensorsWriter;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import io.flinkglm.runtime.tokenizer.SyntheticTokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A real GLM-4 checkpoint whose greedy next token is a chosen function of the last token: a model
 * that says what a test needs (a function call, a short answer) through the ordinary forward pass.
 *
 * <p>How: attention and MLP write nothing back ({@code o_proj} and {@code down_proj} are zero), so
 * the final hidden state is the last token's embedding. Each scripted token {@code a} embeds as the
 * unit vector {@code e_slot(a)}, and the successor {@code b} has {@code lm_head[b] = 16 e_slot(a)}, so
 * after the final norm (which scales a unit vector to {@code sqrt(hidden)}) logit {@code b} is 128 and
 * every other logit is near zero. Unscripted tokens embed as small random vectors and never win.
 *
 * <pre>{@code
 * ScriptedCheckpoint.write(dir, Map.of(assistantId, okId, okId, userId)); // <|assistant|> -> "OK" -> <|user|>
 * }</pre>
 */
public final class ScriptedCheckpoint {
    public static final int VOCAB = 1024;

    private ScriptedCheckpoint() {}

    /** The config of every scripted checkpoint: the "tiny" preset, f32. */
    public static ModelConfig config() {
        return RandomCheckpoint.preset("tiny", DType.F32);
    }

    /** Writes config.json, model.safetensors and a synthetic tokenizer of {@link #VOCAB} ids. */
    public static void write(Path dir, Map<Integer, Integer> successors) throws IOException {
        write(dir, successors, -1, -1);
    }

    /**
     * A scripted checkpoint with an alarm: once {@code alarmToken} is anywhere in the context, the next token at
     * every later position is {@code alarmLabel}, whatever the script says. A model whose output "turns unsafe":
     * a classification scored on {@code alarmLabel} flags exactly the texts that contain the alarm token.
     *
     * <p>How: layer 0's queries and keys are zero, so attention averages the values of all positions; the value
     * reads only the alarm token's embedding slot (every other token is zero there), and {@code o_proj} writes
     * that average, times 1,000, into a free slot of the residual, which {@code lm_head[alarmLabel]} reads. One
     * alarm token among up to 1,000 positions outweighs the script's successor; without it the slot is exactly
     * zero and the script runs as in {@link #write(Path, Map)}.
     */
    public static void writeWithAlarm(Path dir, Map<Integer, Integer> successors, int alarmToken, int alarmLabel)
            throws IOException {
        if (alarmToken < 0 || alarmLabel < 0) {
            throw new IllegalArgumentException("the alarm token and label must be token ids");
        }
        write(dir, successors, alarmToken, alarmLabel);
    }

    private static void write(Path dir, Map<Integer, Integer> successors, int alarmToken, int alarmLabel)
            throws IOException {
        ModelConfig c = config();
        int hidden = c.hiddenSize();
        if (successors.size() + (alarmToken >= 0 ? 2 : 0) > hidden) {
            throw new IllegalArgumentException("at most " + hidden + " scripted tokens, got " + successors.size());
        }
        RandomCheckpoint.write(dir, c, DType.F32, 1, 1, null); // config.json, then overwrite the weights
        SyntheticTokenizer.write(dir, VOCAB);

        float[] embed = new float[VOCAB * hidden];
        float[] lmHead = new float[VOCAB * hidden];
        SplittableRandom rng = new SplittableRandom(5);
        for (int i = 0; i < embed.length; i++) {
            embed[i] = (float) (rng.nextDouble() - 0.5) * 0.02f;
        }
        int slot = 0;
        for (Map.Entry<Integer, Integer> e : successors.entrySet()) {
            int from = e.getKey();
            java.util.Arrays.fill(embed, from * hidden, (from + 1) * hidden, 0f);
            embed[from * hidden + slot] = 1f;
            lmHead[e.getValue() * hidden + slot] = 16f;
            slot++;
        }
        int alarmSlot = -1;
        int signalSlot = -1;
        if (alarmToken >= 0) {
            if (successors.containsKey(alarmToken)) {
                alarmSlot = new java.util.ArrayList<>(successors.keySet()).indexOf(alarmToken);
            } else {
                alarmSlot = slot++;
                java.util.Arrays.fill(embed, alarmToken * hidden, (alarmToken + 1) * hidden, 0f);
                embed[alarmToken * hidden + alarmSlot] = 1f;
            }
            signalSlot = slot;
            for (int t = 0; t < VOCAB; t++) {
                if (t != alarmToken) {
                    embed[t * hidden + alarmSlot] = 0f;
                }
                embed[t * hidden + signalSlot] = 0f;
            }
            lmHead[alarmLabel * hidden + signalSlot] = 16f;
        }
        int vRow = alarmSlot; // v_proj row 0 (KV head 0, dim 0) reads the alarm slot
        int oRow = signalSlot; // o_proj writes query head 0's dim 0 (KV group 0) into the signal slot
        SafetensorsWriter writer = new SafetensorsWriter();
        Map<String, long[]> shapes = RandomCheckpoint.tensorShapes(c);
        shapes.forEach((name, shape) -> writer.declare(name, DType.F32, shape));
        writer.write(dir.resolve("model.safetensors"), (name, sink) -> {
            long[] shape = shapes.get(name);
            long n = shape.length == 1 ? shape[0] : shape[0] * shape[1];
            if (name.equals("model.embed_tokens.weight")) {
                sink.floats(embed);
            } else if (name.equals("lm_head.weight")) {
                sink.floats(lmHead);
            } else if (alarmToken >= 0 && name.equals("model.layers.0.self_attn.v_proj.weight")) {
                float[] v = new float[(int) n];
                v[vRow] = 1f;
                sink.floats(v);
            } else if (alarmToken >= 0 && name.equals("model.layers.0.self_attn.o_proj.weight")) {
                float[] o = new float[(int) n];
                o[oRow * (int) shape[1]] = 1000f;
                sink.floats(o);
            } else if (name.endsWith("norm.weight")) {
                float[] ones = new float[(int) n];
                java.util.Arrays.fill(ones, 1f);
                sink.floats(ones);
            } else {
                sink.floats(new float[(int) n]); // attention and MLP contribute nothing
            }
        });
    }

    /**
     * A model that calls a function when the prompt forces it and otherwise answers: after the forced
     * metadata line {@code name\n} it writes {@code arguments} and stops on {@code <|observation|>};
     * after {@code <|assistant|>} it writes {@code answer} and stops on {@code <|user|>}.
     */
    public static void writeToolCaller(Path dir, String function, String arguments, String answer) throws IOException {
        write(dir, Map.of()); // first only the tokenizer, in which the script is spelled
        Glm4Tokenizer tok = Glm4Tokenizer.load(dir);
        Map<Integer, Integer> script = new HashMap<>();
        int[] prefix = tok.encode(function + "\n");
        chain(script, prefix[prefix.length - 1], tok.encode(arguments), tok.specialId("<|observation|>"));
        chain(script, tok.specialId("<|assistant|>"), tok.encode(answer), tok.specialId("<|user|>"));
        write(dir, script);
    }

    /** Scripts from → tokens[0] → ... → last token → stop; every token may have one successor only. */
    private static void chain(Map<Integer, Integer> script, int from, int[] tokens, int stop) {
        int at = from;
        for (int next : tokens) {
            link(script, at, next);
            at = next;
        }
        link(script, at, stop);
    }

    private static void link(Map<Integer, Integer> script, int from, int to) {
        Integer before = script.putIfAbsent(from, to);
        if (before != null && before != to) {
            throw new IllegalStateException("token " + from + " would need two successors: " + before + " and " + to
                    + "; choose texts whose tokens do not repeat");
        }
    }
}
