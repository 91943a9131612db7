package io.flinkglm.runtime.cli;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.Backends;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.model.Glm4Model;

import java.util.List;

/** {@code logits}: float32 logits at every position of a token sequence, one array per position. */
final class LogitsCommand implements Command {
    private static final int BLOCK = 16;

    @Override
    public String usage() {
        return "logits --model DIR --tokens 1,2,3 [--backend cpu]";
    }

    @Override
    public Object run(Args args) throws Exception {
        int[] tokens = args.integers("tokens");
        String backendName = args.string("backend", "cpu");
        java.nio.file.Path dir = args.path("model");
        args.rejectUnused();
        Glm4Model model = Glm4Model.load(dir, new StderrProgress("loading"));
        try (Backend backend = Backends.create(backendName, model)) {
            checkTokens(tokens, model);
            int blocks = (tokens.length + BLOCK - 1) / BLOCK;
            int[] table = new int[blocks];
            for (int i = 0; i < blocks; i++) {
                table[i] = i;
            }
            try (KvCache kv = backend.newKvCache(blocks, BLOCK)) {
                return backend.forwardLogits(kv, List.of(new SequenceChunk(tokens, 0, table, true)))[0];
            }
        }
    }

    /** Ids and length checked up front, so the message names the input rather than a kernel. */
    static void checkTokens(int[] tokens, Glm4Model model) {
        int vocab = model.config().vocabSize();
        for (int id : tokens) {
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary of "
                        + vocab + " (" + model.dir().resolve("config.json") + " vocab_size)");
            }
        }
        if (tokens.length > model.config().maxPositions()) {
            throw new IllegalArgumentException("prompt of " + tokens.length + " tokens is longer than max_position_embeddings "
                    + model.config().maxPositions());
        }
    }
}
