package io.flinkglm.runtime.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.ModelConfig;
import io.flinkglm.runtime.model.RandomCheckpoint;
import io.flinkglm.runtime.tokenizer.SyntheticTokenizer;

import java.nio.file.Path;
import java.util.Locale;

/** {@code make-model}: writes a random GLM-4-shaped checkpoint for tests and benchmarks. */
final class MakeModelCommand implements Command {

    @Override
    public String usage() {
        return "make-model --out DIR --preset tiny|small|9b-shape [--dtype f32|bf16] [--shards N] [--seed S]";
    }

    @Override
    public Object run(Args args) throws Exception {
        Path out = args.path("out");
        String presetName = args.required("preset");
        DType dtype = switch (args.string("dtype", "bf16").toLowerCase(Locale.ROOT)) {
            case "f32", "float32" -> DType.F32;
            case "bf16", "bfloat16" -> DType.BF16;
            default -> throw new Args.UsageException("--dtype must be f32 or bf16");
        };
        int shards = args.integer("shards", 1);
        long seed = args.longValue("seed", 42);
        args.rejectUnused();
        ModelConfig config = RandomCheckpoint.preset(presetName, dtype);
        RandomCheckpoint.write(out, config, dtype, shards, seed, new StderrProgress("writing"));
        // Every checkpoint the project writes can be driven by text: a vocabulary as large as the model's.
        SyntheticTokenizer.write(out, config.vocabSize());
        ObjectNode result = Json.object();
        result.put("model", out.toString());
        result.put("preset", presetName);
        result.put("dtype", dtype.name().toLowerCase(Locale.ROOT));
        result.put("parameters", config.parameterCount());
        result.put("shards", shards);
        return result;
    }
}
