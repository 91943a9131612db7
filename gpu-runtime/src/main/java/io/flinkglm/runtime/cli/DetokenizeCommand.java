package io.flinkglm.runtime.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;

/** {@code detokenize}: a JSON array of token ids on stdin to the text they spell. */
final class DetokenizeCommand implements Command {
    @Override
    public String usage() {
        return "detokenize --model DIR   (JSON array of ids on stdin)";
    }

    @Override
    public Object run(Args args) throws Exception {
        java.nio.file.Path dir = args.path("model");
        args.rejectUnused();
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(dir);
        JsonNode ids;
        try {
            ids = Json.MAPPER.readTree(args.stdinText());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException("standard input is not a JSON array of ids: " + e.getOriginalMessage());
        }
        if (ids == null || !ids.isArray()) {
            throw new IllegalArgumentException("standard input must be a JSON array of token ids");
        }
        int[] tokens = new int[ids.size()];
        for (int i = 0; i < tokens.length; i++) {
            if (!ids.get(i).canConvertToInt() || !ids.get(i).isIntegralNumber()) {
                throw new IllegalArgumentException("element " + i + " of the id array is not an integer: " + ids.get(i));
            }
            tokens[i] = ids.get(i).intValue();
        }
        return tokenizer.decode(tokens);
    }
}
