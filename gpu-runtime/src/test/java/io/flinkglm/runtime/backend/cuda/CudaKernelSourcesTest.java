package io.flinkglm.runtime.backend.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The kernel sources compile with nvcc for Hopper (sm_90) with the options NVRTC gets at run time,
 * and the launcher's view of each kernel's parameters matches what the compiler emitted. Runs
 * wherever nvcc is installed (CI has it; no GPU needed) and skips elsewhere.
 */
class CudaKernelSourcesTest {
    private static final List<String> SOURCES = List.of("glm4.cu");
    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)");

    @Test
    void everyKernelSourceCompilesWithNvccAndMatchesItsParsedSignatures(@TempDir Path dir) throws Exception {
        Optional<Path> nvcc = nvcc();
        assumeTrue(nvcc.isPresent(), "nvcc is not on PATH nor in /usr/local/cuda*/bin: skipping the CUDA compile check");
        for (String name : SOURCES) {
            String source = KernelModule.readResource(name);
            Path cu = Files.writeString(dir.resolve(name), source);
            Path ptx = dir.resolve(name + ".ptx");
            Process p = new ProcessBuilder(nvcc.get().toString(), "--gpu-architecture=sm_90", "--std=c++17",
                    "-ptx", "-o", ptx.toString(), cu.toString())
                    .redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("nvcc finished").isTrue();
            assertThat(p.exitValue()).as("nvcc on %s:%n%s", name, log).isZero();

            Map<String, Integer> compiled = new LinkedHashMap<>();
            Matcher m = ENTRY.matcher(Files.readString(ptx));
            while (m.find()) {
                compiled.put(m.group(1), m.group(2).split("\\.param", -1).length - 1);
            }
            Map<String, Integer> parsed = new LinkedHashMap<>();
            KernelSignatures.parse(source).kernels().forEach((kernel, params) -> parsed.put(kernel, params.size()));
            assertThat(parsed).as("kernels and parameter counts of " + name).isEqualTo(compiled);
        }
    }

    @Test
    void launchesAreCheckedAgainstTheKernelsParameters() {
        KernelSignatures s = KernelSignatures.parse(KernelModule.readResource("glm4.cu"));
        s.check("to_bf16", new Object[] {1L, 2L, 3L});
        assertThatThrownBy(() -> s.check("to_bf16", new Object[] {1L, 2L, 3}))
                .hasMessageContaining("argument 2 must be a Long (LONG)");
        assertThatThrownBy(() -> s.check("swiglu", new Object[] {1L, 2L}))
                .hasMessageContaining("takes 3 arguments");
        assertThatThrownBy(() -> s.check("no_such_kernel", new Object[0]))
                .hasMessageContaining("no kernel no_such_kernel");
    }

    /** CudaBackend sizes grids from these; a kernel edited alone would leave them wrong. */
    @Test
    void theLaunchersShapesMatchTheKernelsDefines() {
        Map<String, Integer> defines = new LinkedHashMap<>();
        Matcher m = Pattern.compile("(?m)^#define (\\w+) (\\d+)$").matcher(KernelModule.readResource("glm4.cu"));
        while (m.find()) {
            defines.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        assertThat(defines.get("MMA_WARPS")).isEqualTo(CudaBackend.MMA_WARPS);
        assertThat(8 * defines.get("MMA_GROUPS")).isEqualTo(CudaBackend.MMA_TOKENS);
        assertThat(32 * defines.get("ATTN_WARPS")).isEqualTo(CudaBackend.ATTENTION_THREADS);
        assertThat(defines.get("FA_THREADS")).isEqualTo(CudaBackend.SPLIT_THREADS);
        assertThat(defines.get("FA_MAX_HEAD_DIM")).isEqualTo(CudaBackend.SPLIT_MAX_HEAD_DIM);
        assertThat(defines.get("FA_MAX_GROUP")).isEqualTo(CudaBackend.SPLIT_MAX_GROUP);
        assertThat(defines.get("FA_SPLIT_MIN")).isEqualTo(CudaBackend.SPLIT_MIN);
        assertThat(defines.get("FA_MAX_SPLITS")).isEqualTo(CudaBackend.SPLIT_MAX);
    }

    /** The launcher's mirror of fa_split_size: splits of 128 positions, doubled past 64 splits. */
    @Test
    void attentionSplitsDependOnTheRowsLengthAlone() {
        assertThat(CudaBackend.splitsFor(1)).isEqualTo(1);
        assertThat(CudaBackend.splitsFor(128)).isEqualTo(1);
        assertThat(CudaBackend.splitsFor(129)).isEqualTo(2);
        assertThat(CudaBackend.splitsFor(2048)).isEqualTo(16);
        assertThat(CudaBackend.splitsFor(64 * 128)).isEqualTo(64);
        assertThat(CudaBackend.splitsFor(64 * 128 + 1)).isEqualTo(33); // 256 positions each
        assertThat(CudaBackend.splitsFor(131072)).isEqualTo(64);
    }

    private static Optional<Path> nvcc() {
        Stream<Path> onPath = Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .filter(d -> !d.isEmpty()).map(d -> Path.of(d, "nvcc"));
        Stream<Path> toolkits = Stream.of("/usr/local/cuda/bin/nvcc", "/usr/local/cuda-13.0/bin/nvcc").map(Path::of);
        return Stream.concat(onPath, toolkits).filter(Files::isExecutable).findFirst();
    }
}
