package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.cpu.CpuBackend;
import io.flinkglm.runtime.model.ModelConfig;
import io.flinkglm.runtime.testing.TinyModels;

import java.util.Arrays;

/**
 * Runs {@link EngineBench} on a random in-memory model until {@code bin/glm bench} exists.
 * Arguments: concurrencies (comma separated), then optionally hidden layers heads kvHeads headDim vocab.
 *
 * <pre>{@code
 * java -cp ... io.flinkglm.runtime.engine.EngineBenchMain 1,4,16,64 256 4 8 2 32 4096
 * }</pre>
 */
public final class EngineBenchMain {
    private EngineBenchMain() {}

    public static void main(String[] args) {
        int[] levels = Arrays.stream((args.length > 0 ? args[0] : "1,4,16").split(","))
                .mapToInt(Integer::parseInt).toArray();
        int[] s = args.length >= 7
                ? Arrays.stream(args, 1, 7).mapToInt(Integer::parseInt).toArray()
                : new int[] {256, 4, 8, 2, 32, 4096};
        ModelConfig config = TinyModels.config(s[0], s[1], s[2], s[3], s[4], s[5]);
        Backend backend = new CpuBackend(TinyModels.random(config, 1));
        System.out.println("model: hidden " + s[0] + ", " + s[1] + " layers, " + s[2] + " heads / " + s[3]
                + " kv heads of " + s[4] + ", vocab " + s[5] + " (" + config.parameterCount() + " parameters); "
                + backend.description());
        EngineBench.Options o = new EngineBench.Options(
                Integer.getInteger("bench.rounds", 2), Integer.getInteger("bench.minPrompt", 32),
                Integer.getInteger("bench.maxPrompt", 512), Integer.getInteger("bench.output", 64), 512, 42);
        System.out.println("options: " + o);
        for (EngineBench.Level l : EngineBench.sweep(backend, levels, o)) {
            System.out.println(l.toMap());
        }
        System.out.println(EngineBench.prefixReuse(backend, 1000, 24).toMap());
    }
}
