package io.flinkglm.runtime.engine;

import io.flinkglm.runtime.backend.cpu.CpuBackend;
import io.flinkglm.runtime.engine.GenerationResult.FinishReason;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.testing.ScriptedCheckpoint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Moderation while generating ({@link StreamingCheck}) on a scripted checkpoint whose output turns unsafe: after
 * token 100 it writes 101, 102, ... 140, and token 121 (output 20) is an alarm that makes every later position
 * say the unsafe label 701. The checks' suffix ends on a token scripted to say the safe label 700, so a check is
 * flagged exactly when the text it covers holds the alarm.
 */
class StreamingModerationTest {
    private static final int BLOCK = 8;
    private static final int INTERVAL = 8;
    private static final int STOP = 1000;
    private static final int ALARM = 121;
    private static final int SAFE_LABEL = 700;
    private static final int UNSAFE_LABEL = 701;
    private static final int[] SUFFIX = {600, 601};
    private static final int[] UNSAFE_PROMPT = {5, 6, 7, 100};       // 101 .. 121 (alarm), then 701 to the end
    private static final int[] SAFE_PROMPT = {5, 6, 7, 122};         // 123 .. 140, then the stop token
    private static final SamplingParams SAMPLING = SamplingParams.builder()
            .maxTokens(64).stopTokenIds(List.of(STOP)).build();

    @TempDir
    static Path dir;
    static CpuBackend backend;

    @BeforeAll
    static void scriptedModel() throws IOException {
        Map<Integer, Integer> script = new HashMap<>();
        for (int t = 100; t < 140; t++) {
            script.put(t, t + 1);
        }
        script.put(140, STOP);
        script.put(SUFFIX[1], SAFE_LABEL);
        ScriptedCheckpoint.writeWithAlarm(dir, script, ALARM, UNSAFE_LABEL);
        backend = new CpuBackend(Glm4Model.load(dir));
    }

    @AfterAll
    static void close() {
        backend.close();
    }

    private static InferenceEngine engine() {
        return InferenceEngine.builder(backend).kvBlocks(256).blockSize(BLOCK).build();
    }

    /** A prefix of 11 tokens (padded to 16, two blocks), the suffix, labels {safe, unsafe}. */
    private static StreamingCheck check() {
        int[] prefix = IntStream.range(300, 311).toArray();
        return new StreamingCheck(INTERVAL, prefix, SUFFIX, new int[] {SAFE_LABEL, UNSAFE_LABEL}, 0, p -> p[1] >= 0.5f);
    }

    private static GenerationResult run(InferenceEngine engine, String id, int[] prompt, StreamingCheck check)
            throws Exception {
        return engine.submit(GenerationRequest.builder(id, prompt).sampling(SAMPLING).streamingCheck(check).build())
                .result().get(60, TimeUnit.SECONDS);
    }

    @Test
    void anOutputThatTurnsUnsafeIsStoppedWithinOneIntervalWithContentFilter() throws Exception {
        try (InferenceEngine engine = engine()) {
            GenerationResult unchecked = run(engine, "unchecked", UNSAFE_PROMPT, null);
            GenerationResult checked = run(engine, "checked", UNSAFE_PROMPT, check());

            assertThat(unchecked.finishReason()).isEqualTo(FinishReason.LENGTH);
            assertThat(unchecked.outputTokens()).hasSize(64);
            assertThat(unchecked.outputTokens()[20]).as("the output turns unsafe at token 20").isEqualTo(ALARM);
            assertThat(checked.finishReason()).isEqualTo(FinishReason.CONTENT_FILTER);
            // The first check that sees output 20 covers 24 tokens; it stops the generation before the next one.
            assertThat(checked.outputTokens().length).isBetween(24, 24 + INTERVAL - 1);
            assertThat(checked.classProbabilities()[1]).isGreaterThanOrEqualTo(0.5f);
            assertThat(engine.metricsBetweenSteps().get(10, TimeUnit.SECONDS).kvBlocksUsed())
                    .as("the generation's blocks and those of checks still out are released").isZero();
        }
    }

    @Test
    void checksOutsideTheBatchLimitStillStopAnUnsafeOutputInTime() throws Exception {
        // One running sequence at most: the checks are admitted beside it, not after it.
        try (InferenceEngine engine = InferenceEngine.builder(backend).kvBlocks(256).blockSize(BLOCK)
                .maxRunningSequences(1).build()) {
            GenerationResult checked = run(engine, "checked", UNSAFE_PROMPT, check());

            assertThat(checked.finishReason()).isEqualTo(FinishReason.CONTENT_FILTER);
            assertThat(checked.outputTokens().length).isBetween(24, 24 + INTERVAL - 1);
        }
    }

    @Test
    void aSafeOutputHasTheSameTokensWithAndWithoutChecksAloneOrBatched() throws Exception {
        try (InferenceEngine engine = engine()) {
            GenerationResult alone = run(engine, "alone", SAFE_PROMPT, null);
            var unsafe = engine.submit(GenerationRequest.builder("unsafe", UNSAFE_PROMPT).sampling(SAMPLING)
                    .streamingCheck(check()).build());
            var other = engine.submit(GenerationRequest.builder("other", UNSAFE_PROMPT).sampling(SAMPLING).build());
            GenerationResult checked = run(engine, "checked", SAFE_PROMPT, check());

            assertThat(alone.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(alone.outputTokens()).hasSize(18);
            assertThat(checked.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(checked.stopTokenId()).isEqualTo(STOP);
            assertThat(checked.outputTokens()).isEqualTo(alone.outputTokens());
            assertThat(checked.classProbabilities()[0]).as("the final check's verdict: safe").isGreaterThan(0.5f);
            assertThat(unsafe.result().get(60, TimeUnit.SECONDS).finishReason()).isEqualTo(FinishReason.CONTENT_FILTER);
            assertThat(other.result().get(60, TimeUnit.SECONDS).outputTokens()).hasSize(64);
        }
    }

    @Test
    void eachCheckAfterTheFirstComputesOnlyTheNewTokensAndTheSuffix() throws Exception {
        try (InferenceEngine engine = engine()) {
            GenerationResult checked = run(engine, "checked", SAFE_PROMPT, check());
            EngineMetrics m = engine.metrics();

            assertThat(checked.outputTokens()).hasSize(18);
            // Checks at 8 and 16 output tokens and the final one at 18.
            assertThat(m.streamingChecks()).isEqualTo(3);
            assertThat(m.laterCheckPromptTokensMax()).isLessThanOrEqualTo(INTERVAL + SUFFIX.length);
            // First: prefix 16 (padded) + 8 + suffix 2; then 8 + 2; then the last 2 + 2.
            assertThat(m.checkPromptTokensComputed()).isEqualTo(26 + 10 + 4);
        }
    }

    @Test
    void anIntervalOffTheBlockSizeRecomputesAtMostAPartialBlockPerCheck() throws Exception {
        int interval = 5; // checks at 5, 10, 15 and 18 output tokens; blocks of 8
        try (InferenceEngine engine = engine()) {
            StreamingCheck c = check();
            GenerationResult checked = run(engine, "checked", SAFE_PROMPT, new StreamingCheck(interval,
                    c.prefixTokens(), c.suffixTokens(), c.labelTokenIds(), c.padTokenId(), c.flags()));
            EngineMetrics m = engine.metrics();

            assertThat(checked.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(m.streamingChecks()).isEqualTo(4);
            assertThat(m.laterCheckPromptTokensMax()).isGreaterThan(interval + SUFFIX.length)
                    .isLessThanOrEqualTo(interval + SUFFIX.length + BLOCK - 1);
        }
    }
}
