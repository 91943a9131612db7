package io.flinkglm.runtime.cli;

import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;

/** {@code tokenize}: text on stdin to a JSON array of token ids. */
final class TokenizeCommand implements Command {
    @Override
    public String usage() {
        return "tokenize --model DIR [--special]   (text on stdin)";
    }

    @Override
    public Object run(Args args) throws Exception {
        java.nio.file.Path dir = args.path("model");
        boolean special = args.flag("special");
        args.rejectUnused();
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(dir);
        String text = args.stdinText();
        return special ? tokenizer.encodeWithSpecials(text) : tokenizer.encode(text);
    }
}
