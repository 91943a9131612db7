package io.flinkglm.runtime.backend.cpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkglm.runtime.backend.KvCache;
import io.flinkglm.runtime.backend.SequenceChunk;
import io.flinkglm.runtime.engine.Sampler;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.testing.SharedData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The forward pass against logits and greedy tokens from an independent reference implementation. */
class GoldenVectorsTest {

    @ParameterizedTest
    @ValueSource(strings = {"tiny-f32", "tiny-bf16-sharded"})
    void logitsMatchTheReferenceAtEveryPosition(String name) throws Exception {
        Path dir = SharedData.glm4().resolve("vectors").resolve(name);
        JsonNode expected = new ObjectMapper().readTree(dir.resolve("expected.json").toFile());
        int[] tokens = ints(expected.get("tokens"));
        CpuBackend backend = new CpuBackend(Glm4Model.load(dir));
        try (KvCache kv = backend.newKvCache(8, 16)) {
            float[][] logits = backend.forwardLogits(kv, List.of(
                    new SequenceChunk(tokens, 0, new int[] {0, 1, 2, 3}, true)))[0];

            assertThat(logits).hasNumberOfRows(tokens.length);
            for (int i = 0; i < tokens.length; i++) {
                assertThat(relativeError(logits[i], expected.get("logits").get(i)))
                        .as("%s row %d", name, i).isLessThanOrEqualTo(1e-4);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-f32", "tiny-bf16-sharded"})
    void greedyContinuationIsIdentical(String name) throws Exception {
        Path dir = SharedData.glm4().resolve("vectors").resolve(name);
        JsonNode expected = new ObjectMapper().readTree(dir.resolve("expected.json").toFile());
        int[] prompt = ints(expected.get("tokens"));
        int[] greedy = ints(expected.get("greedy"));
        CpuBackend backend = new CpuBackend(Glm4Model.load(dir));
        int[] blocks = {0, 1, 2, 3};
        try (KvCache kv = backend.newKvCache(4, 16)) {
            float[] logits = backend.forwardLogits(kv, List.of(new SequenceChunk(prompt, 0, blocks, false)))[0][0];
            List<Integer> generated = new ArrayList<>();
            for (int i = 0; i < greedy.length; i++) {
                int next = Sampler.argmax(logits);
                generated.add(next);
                logits = backend.forwardLogits(kv, List.of(
                        new SequenceChunk(new int[] {next}, prompt.length + i, blocks, false)))[0][0];
            }
            assertThat(generated).containsExactly(box(greedy));
        }
    }

    static double relativeError(float[] actual, JsonNode expected) {
        double maxDiff = 0;
        double maxRef = 0;
        for (int j = 0; j < actual.length; j++) {
            double ref = expected.get(j).doubleValue();
            maxDiff = Math.max(maxDiff, Math.abs(actual[j] - ref));
            maxRef = Math.max(maxRef, Math.abs(ref));
        }
        assertThat(expected.size()).isEqualTo(actual.length);
        return maxDiff / maxRef;
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).intValue();
        }
        return out;
    }

    private static Integer[] box(int[] v) {
        Integer[] out = new Integer[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }
}
