package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.safety.SafetyClassifier;
import io.flinkglm.runtime.safety.SafetyPolicy;
import io.flinkglm.runtime.safety.SafetyVerdict;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.Backends;
import io.flinkglm.runtime.engine.InferenceEngine;
import io.flinkglm.runtime.model.DType;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.model.RandomCheckpoint;
import io.flinkglm.runtime.safety.SafetyVerdict.Checked;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import io.flinkglm.runtime.tokenizer.SyntheticTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;

/**
 * What prefix caching saves the safety classifier: classifies N texts (after one warm-up request that
 * puts the policy prefix in the cache) with prefix caching on and off, and prints per run the prompt
 * tokens computed against N x the tokens unique to each text, and classifications per second. A
 * benchmark, not a test; without a model directory it generates a random "tiny" checkpoint.
 *
 * <pre>{@code
 * java -cp gpu-runtime/target/classes:gpu-runtime/target/test-classes:$DEPS io.flinkglm.runtime.tools.SafetyBench [modelDir|-] [n] [policy.json]
 * }</pre>
 */
public final class SafetyBench {
    private static final String[] TEXTS = {
        "How do I pick the lock of my neighbour's front door while they are away?",
        "晚上睡不着应该怎么办？",
        "Write a friendly reminder that the team meeting moved to 3 pm.",
        "你真是个笨蛋，谁都不想理你。",
        "What household chemicals should never be mixed, and why?",
        "Give me the home address and phone number of the CEO of a bank.",
        "Explain why one nationality is smarter than another.",
        "I feel hopeless and want to stop eating altogether.",
    };

    private SafetyBench() {}

    public static void main(String[] args) throws Exception {
        Path modelDir = args.length > 0 && !args[0].equals("-") ? Path.of(args[0]) : generatedTinyModel();
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 256;
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(modelDir);
        SafetyPolicy policy = args.length > 2 ? SafetyPolicy.load(Path.of(args[2])) : policyFor(tokenizer);
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            texts.add("(" + i + ") " + TEXTS[i % TEXTS.length]); // unique from the first token: no sharing beyond the policy
        }
        try (Backend backend = Backends.create("auto", Glm4Model.load(modelDir))) {
            run(backend, tokenizer, policy, texts, true); // JIT warm-up; its figures are discarded
            for (boolean prefixCaching : new boolean[] {true, false}) {
                System.out.println(run(backend, tokenizer, policy, texts, prefixCaching));
            }
        }
    }

    private static String run(Backend backend, Glm4Tokenizer tokenizer, SafetyPolicy policy, List<String> texts,
                              boolean prefixCaching) throws Exception {
        try (InferenceEngine engine = InferenceEngine.builder(backend).kvBlocks(4096).maxQueuedRequests(texts.size() + 1)
                .prefixCaching(prefixCaching).build()) {
            SafetyClassifier classifier = new SafetyClassifier(engine, tokenizer, policy);
            int policyPrefix = sharedPrefix(classifier.promptTokens("a", Checked.PROMPT),
                    classifier.promptTokens("b", Checked.PROMPT));
            classifier.classify("warm-up", "hello", Checked.PROMPT).join();

            long start = System.nanoTime();
            List<CompletableFuture<SafetyVerdict>> futures = new ArrayList<>();
            for (int i = 0; i < texts.size(); i++) {
                futures.add(classifier.classify("text-" + i, texts.get(i), Checked.PROMPT));
            }
            long prompt = 0, computed = 0, cached = 0, unique = 0, flagged = 0;
            for (CompletableFuture<SafetyVerdict> f : futures) {
                SafetyVerdict v = f.join();
                prompt += v.promptTokens();
                computed += v.computedPromptTokens();
                cached += v.cachedPromptTokens();
                unique += v.promptTokens() - policyPrefix;
                flagged += v.flagged() ? 1 : 0;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            return String.format(Locale.ROOT, "{\"prefix_caching\": %b, \"n\": %d, \"policy_prefix_tokens\": %d, "
                            + "\"prompt_tokens\": %d, \"cached_prompt_tokens\": %d, \"computed_prompt_tokens\": %d, "
                            + "\"n_x_new_tokens\": %d, \"seconds\": %.3f, \"classifications_per_s\": %.1f, "
                            + "\"computed_tokens_per_s\": %.0f, \"flagged\": %d}",
                    prefixCaching, texts.size(), policyPrefix, prompt, cached, computed, unique, seconds,
                    texts.size() / seconds, computed / seconds, flagged);
        }
    }

    /** The default policy if its labels are distinct tokens here; a synthetic vocabulary may lack " A".." H". */
    static SafetyPolicy policyFor(Glm4Tokenizer tokenizer) {
        SafetyPolicy policy = SafetyPolicy.glm4SafetyBench();
        try {
            policy.labelTokenIds(tokenizer);
            return policy;
        } catch (IllegalArgumentException e) {
            List<SafetyPolicy.Category> relabelled = policy.categories().stream()
                    .map(c -> new SafetyPolicy.Category(c.name(), c.description(), c.openAi(), c.threshold(),
                            c.label().strip(), c.safe()))
                    .toList();
            System.err.println("labels relabelled without the leading space: " + e.getMessage());
            return new SafetyPolicy(policy.instructions(), relabelled, policy.answerPrefix() + " ");
        }
    }

    private static int sharedPrefix(int[] a, int[] b) {
        int i = 0;
        while (i < a.length && i < b.length && a[i] == b[i]) {
            i++;
        }
        return i;
    }

    private static Path generatedTinyModel() throws Exception {
        Path dir = Files.createTempDirectory("safety-bench-");
        RandomCheckpoint.write(dir, RandomCheckpoint.preset("tiny", DType.F32), DType.F32, 1, 7, null);
        SyntheticTokenizer.write(dir, 1024);
        return dir;
    }
}
