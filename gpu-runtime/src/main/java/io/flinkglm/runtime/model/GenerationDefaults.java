package io.flinkglm.runtime.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.annotation.PublicEvolving;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Sampling defaults from a checkpoint's optional {@code generation_config.json}; absent values are
 * null and fall back to the request's or the engine's defaults.
 *
 * <pre>{@code
 * GenerationDefaults g = GenerationDefaults.read(dir); // g.temperature() may be null
 * }</pre>
 */
@PublicEvolving
public record GenerationDefaults(Double temperature, Double topP, Integer topK, Integer maxNewTokens,
                                 Double repetitionPenalty, List<Integer> eosTokenIds) {

    public static final GenerationDefaults NONE = new GenerationDefaults(null, null, null, null, null, List.of());

    public static GenerationDefaults read(Path modelDir) throws IOException {
        Path file = modelDir.resolve("generation_config.json");
        if (!Files.isRegularFile(file)) {
            return NONE;
        }
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new ModelFormatException(file, "is not valid JSON: " + e.getMessage());
        }
        if (n == null || !n.isObject()) {
            throw new ModelFormatException(file, "must hold a JSON object");
        }
        boolean sample = n.path("do_sample").asBoolean(true);
        List<Integer> eos = new ArrayList<>();
        JsonNode e = n.get("eos_token_id");
        if (e != null && e.isArray()) {
            e.forEach(id -> eos.add(id.intValue()));
        } else if (e != null && e.isIntegralNumber()) {
            eos.add(e.intValue());
        }
        return new GenerationDefaults(
                sample ? doubleOrNull(n, "temperature") : Double.valueOf(0.0),
                doubleOrNull(n, "top_p"),
                n.hasNonNull("top_k") ? n.get("top_k").intValue() : null,
                n.hasNonNull("max_new_tokens") ? n.get("max_new_tokens").intValue() : null,
                doubleOrNull(n, "repetition_penalty"),
                List.copyOf(eos));
    }

    private static Double doubleOrNull(JsonNode n, String key) {
        return n.hasNonNull(key) ? n.get(key).doubleValue() : null;
    }
}
