package io.flinkglm.runtime.model;

import org.apache.flink.annotation.PublicEvolving;

import java.nio.file.Path;

/**
 * A checkpoint file that cannot be used, with the file and the problem in one message.
 *
 * <pre>{@code
 * throw new ModelFormatException(file, "tensor lm_head.weight is missing");
 * }</pre>
 */
@PublicEvolving
public class ModelFormatException extends IllegalArgumentException {
    private final Path file;

    public ModelFormatException(Path file, String problem) {
        super(file.getFileName() + ": " + problem + " (" + file.toAbsolutePath() + ")");
        this.file = file;
    }

    /** The file at fault. */
    public Path file() {
        return file;
    }
}
