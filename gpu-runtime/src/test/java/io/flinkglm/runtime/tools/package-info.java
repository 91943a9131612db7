/**
 * Benchmarks, probes and the GPU check: everything that measures the runtime rather than runs it,
 * kept out of the main jar and published in gpu-runtime's test-jar. The top of the runtime's
 * layering: tools may import any package, and no package imports tools.
 *
 * <p>{@code bin/glm bench} reaches them through {@code cli.BenchCommand} (in this test tree, found by
 * {@code Glm} through {@code META-INF/services}); {@code gpu/prepare.sh} packs the test-jar beside
 * the main jar, and {@code gpu/run-checks.sh} runs {@link io.flinkglm.runtime.tools.CudaCheck} from
 * it. The others have a {@code main}; after {@code bin/glm} has built once:
 *
 * <pre>{@code
 * java --add-modules jdk.incubator.vector -cp "gpu-runtime/target/gpu-runtime.jar:gpu-runtime/target/gpu-runtime-tools.jar:$(cat gpu-runtime/target/runtime-classpath.txt)" \
 *     io.flinkglm.runtime.tools.DecodeStepBench /tmp/small-bf16
 * }</pre>
 */
package io.flinkglm.runtime.tools;
