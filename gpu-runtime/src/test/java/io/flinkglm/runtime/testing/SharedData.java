package io.flinkglm.runtime.testing;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Finds the project's reference data ({@code ../shared/glm4} beside the checkout).
 *
 * <p>The data is not part of the repository: a user's fresh clone does not have it, so tests that
 * need it call {@link #glm4()} and are skipped with a message saying where the data was looked for.
 * The system property {@code flinkglm.shared} overrides the search.
 *
 * <pre>{@code
 * Path vocab = SharedData.glm4().resolve("tokenizer.model");
 * }</pre>
 */
public final class SharedData {
    private SharedData() {}

    /** The {@code glm4} folder of the shared data, or a skipped test when it is absent. */
    public static Path glm4() {
        Optional<Path> dir = find();
        assumeTrue(dir.isPresent(), "skipped: reference data ../shared/glm4 not found above "
                + Path.of("").toAbsolutePath() + " (set -Dflinkglm.shared=DIR to point at it)");
        return dir.get();
    }

    /** The shared {@code glm4} folder, if there is one. */
    public static Optional<Path> find() {
        String override = System.getProperty("flinkglm.shared");
        if (override != null) {
            Path p = Path.of(override).resolve("glm4");
            return Files.isDirectory(p) ? Optional.of(p) : Optional.empty();
        }
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("shared").resolve("glm4");
            if (Files.isDirectory(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }
}
