package io.flinkglm.sql;

import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.Backends;
import io.flinkglm.runtime.chat.ChatMessage;
import io.flinkglm.runtime.chat.ChatTemplate;
import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.InferenceEngine;
import io.flinkglm.runtime.engine.SamplingParams;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.safety.SafetyClassifier;
import io.flinkglm.runtime.safety.SafetyPolicy;
import io.flinkglm.runtime.safety.SafetyVerdict;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The reference a SQL row is checked against: the tiny model on its own engine, one request at a time,
 * through the runtime's public API only (chat template, sampling, safety classifier) — no provider code.
 */
final class EngineAlone implements AutoCloseable {
    private final Glm4Model model;
    private final Glm4Tokenizer tokenizer;
    private final Backend backend;
    private final InferenceEngine engine;

    EngineAlone(Path dir) throws Exception {
        model = Glm4Model.load(dir);
        tokenizer = Glm4Tokenizer.load(dir);
        backend = Backends.create("cpu", model);
        engine = InferenceEngine.builder(backend).kvBytes(8L << 20).detokenizer(tokenizer::decode).build();
    }

    /** The assistant's text for one user message (GLM-4's leading newline removed), as the engine alone writes it. */
    String chat(String prompt, double temperature, long seed, int maxTokens) throws Exception {
        int[] tokens = ChatTemplate.encode(tokenizer, List.of(ChatMessage.user(prompt)), true);
        List<Integer> stops = new ArrayList<>();
        Arrays.stream(tokenizer.stopIds()).forEach(stops::add);
        SamplingParams sampling = SamplingParams.builder().temperature(temperature).seed(seed).maxTokens(maxTokens)
                .stopTokenIds(stops).build();
        GenerationResult r = engine.submit(GenerationRequest.builder("ref", tokens).sampling(sampling).build())
                .result().get();
        String text = tokenizer.decode(r.outputTokens());
        return text.startsWith("\n") ? text.substring(1) : text;
    }

    SafetyVerdict moderate(String text) throws Exception {
        return new SafetyClassifier(engine, tokenizer, SafetyPolicy.glm4SafetyBench())
                .classify("ref", text, SafetyVerdict.Checked.PROMPT).get();
    }

    @Override
    public void close() {
        engine.close();
        backend.close();
    }
}
