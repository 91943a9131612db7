package io.flinkglm.runtime.tokenizer;

import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A tokenizer file that cannot be read as a GLM-4 vocabulary: a broken line, bad base64, a duplicate
 * rank or token, or a tokenizer.json of a model type this runtime does not implement.
 *
 * <p>The message names the file, the line where there is one, and the problem:
 * <pre>{@code
 * try {
 *     Glm4Tokenizer.load(dir);
 * } catch (TokenizerFormatException e) {
 *     // "tokenizer.model line 17: rank 15 already used by line 16"
 * }
 * }</pre>
 */
@PublicEvolving
public final class TokenizerFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public TokenizerFormatException(String message) {
        super(message);
    }

    static TokenizerFormatException atLine(Path file, int line, String problem) {
        return new TokenizerFormatException(file + " line " + line + ": " + problem);
    }

    static TokenizerFormatException inFile(Path file, String problem) {
        return new TokenizerFormatException(file + ": " + problem);
    }
}
