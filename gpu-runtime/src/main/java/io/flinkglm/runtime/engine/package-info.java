/**
 * The inference engine, split as vLLM v1: {@link io.flinkglm.runtime.engine.InferenceEngine} (the
 * request API and the engine thread) asks the {@code Scheduler} what to run each step, the
 * {@code Scheduler} places KV with the {@link io.flinkglm.runtime.engine.KvBlockManager}, and the
 * {@code ModelRunner} runs the step on the backend, handing it one sampling spec per row to draw
 * ({@link io.flinkglm.runtime.engine.Sampler#row}; the backend samples, see
 * {@link io.flinkglm.runtime.backend.Backend#step}). They talk in small immutable records:
 * {@code SchedulerOutput} (what to run) and {@code ModelRunnerOutput} (what came out).
 *
 * <pre>{@code
 * try (InferenceEngine engine = InferenceEngine.builder(Backends.create("auto", model)).kvBytes(4L << 30).build()) {
 *     GenerationResult r = engine.submit(GenerationRequest.builder("r1", prompt).build()).result().get();
 * }
 * }</pre>
 */
package io.flinkglm.runtime.engine;
