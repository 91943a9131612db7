#!/usr/bin/env bash
# gpu/prepare.sh: packs what the lent GPU machine needs to run gpu-runtime, into .gpu/ (git-ignored).
# Runs here, on the development machine. That machine has no JDK and reaches no Maven repository, so
# the device call carries (carry: [".gpu"], 64 MiB at most with the working tree):
#   .gpu/lib/      gpu-runtime.jar, gpu-runtime-tools.jar (the test-jar: CudaCheck and the bench command)
#                  and their runtime dependencies (Jackson, JavaCPP, the CUDA presets)
#   .gpu/jdk/      a Java 17 runtime cut down by jlink to the modules those jars use
#   .gpu/vectors/  the golden vectors from ../shared/glm4/vectors, when present (../shared does not travel)
# Then gpu/run-checks.sh runs there. See gpu/README.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
gpu="$root/.gpu"
max_mib=60   # the device call carries 64 MiB in all; the working tree itself takes a few

cd "$root"
# Offline first (bin/glm's habit), online when ~/.m2 lacks something. The sed drops the colour resets
# Debian's Maven prints even with -B -q.
mvn_try() {
  { mvn -B -q -o "$@" 2>&1 || { echo "prepare: offline build failed; trying online"; mvn -B -q "$@" 2>&1; }; } |
    sed 's/\x1b\[[0-9;]*m//g'
}

echo "prepare: building gpu-runtime" >&2
mvn_try -pl gpu-runtime package -DskipTests

echo "prepare: collecting jars into .gpu/lib" >&2
rm -rf "${gpu:?}/lib" "$gpu/jdk" "$gpu/vectors"
mkdir -p "$gpu/lib"
mvn_try -pl gpu-runtime dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$gpu/lib"
# The main jar, and the test-jar that holds the tools (CudaCheck, bench): not the -sources or
# -javadoc jars beside them, nor bin/glm's copies (gpu-runtime.jar, gpu-runtime-tools.jar).
jar=$(find gpu-runtime/target -maxdepth 1 -name 'gpu-runtime-*[0-9T].jar' | head -n 1)
tools_jar=$(find gpu-runtime/target -maxdepth 1 -name 'gpu-runtime-*[0-9T]-tests.jar' | head -n 1)
[ -n "$jar" ] && [ -n "$tools_jar" ] ||
  { echo "prepare: no gpu-runtime jar and test-jar in gpu-runtime/target after the build" >&2; exit 1; }
cp "$jar" "$gpu/lib/gpu-runtime.jar"
cp "$tools_jar" "$gpu/lib/gpu-runtime-tools.jar"
unzip -l "$gpu/lib/gpu-runtime-tools.jar" | grep -q 'io/flinkglm/runtime/tools/CudaCheck.class' ||
  { echo "prepare: gpu-runtime-tools.jar has no io.flinkglm.runtime.tools.CudaCheck, which gpu/run-checks.sh runs" >&2; exit 1; }
# The H200 machine is x86-64 Linux: native jars for other platforms (a *-platform dependency pulls
# them all) would only take up the 64 MiB.
find "$gpu/lib" -name '*.jar' -regextype posix-extended \
  -regex '.*-(android|ios|linux-arm64|linux-armhf|linux-ppc64le|macosx|windows)-[^/]*\.jar' -delete

# JavaCPP loads the CUDA bindings from the classifier jars; without them the cuda backend cannot start.
missing=()
for pattern in 'javacpp-[0-9]*[0-9].jar' 'javacpp-*-linux-x86_64.jar' 'cuda-[0-9]*[0-9].jar' 'cuda-*-linux-x86_64.jar'; do
  compgen -G "$gpu/lib/$pattern" >/dev/null || missing+=("$pattern")
done
if [ ${#missing[@]} -gt 0 ]; then
  if unzip -l "$gpu/lib/gpu-runtime.jar" | grep -q 'io/flinkglm/runtime/backend/cuda/'; then
    echo "prepare: gpu-runtime has a cuda backend but .gpu/lib lacks ${missing[*]};" \
         "declare org.bytedeco:javacpp and org.bytedeco:cuda with and without classifier linux-x86_64 in gpu-runtime/pom.xml" >&2
    exit 1
  fi
  echo "prepare: warning: no CUDA jars yet (${missing[*]}); only the cpu backend will run on the device" >&2
fi

# Modules: what jdeps finds in the jars (the test-jar's JUnit classes name modules of jars that do
# not travel; --ignore-missing-deps passes over them), plus a floor. java.desktop is left out on purpose (11 MiB of the
# 64): Jackson and SnakeYAML name it only for java.beans, an optional dependency of both, and the
# smoke test below runs the CLI without it.
echo "prepare: linking a Java runtime into .gpu/jdk" >&2
found=$(jdeps --print-module-deps --ignore-missing-deps --multi-release 17 "$gpu"/lib/*.jar 2>/dev/null | tail -n 1)
modules=$(echo "java.base,java.logging,jdk.unsupported,jdk.incubator.vector,$found" |
          tr ',' '\n' | grep -v -x -e '' -e 'java.desktop' | sort -u | paste -sd, -)
# JDK 21's jlink names the levels zip-0..zip-9; JDK 17's takes 0, 1 or 2 (2 = zip).
compress=2
jlink --help 2>&1 | grep -q 'zip-' && compress=zip-9
jlink --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress="$compress" \
  --output "$gpu/jdk" 2>&1 | { grep -v 'Using incubator modules' || true; } >&2

if [ -d "$root/../shared/glm4/vectors" ]; then
  cp -r "$root/../shared/glm4/vectors" "$gpu/vectors"
fi

# Smoke test on the linked runtime: make a tiny model, generate from it on the cpu backend.
echo "prepare: smoke test of .gpu/jdk on a tiny model" >&2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
glm() { "$gpu/jdk/bin/java" --add-modules jdk.incubator.vector -cp "$gpu/lib/*" io.flinkglm.runtime.cli.Glm "$@" \
          2> >(grep -v 'Using incubator modules' >&2); }
glm make-model --preset tiny --dtype bf16 --out "$scratch/tiny" >/dev/null
glm generate --model "$scratch/tiny" --tokens 1,2,3 --max-tokens 4 >"$scratch/generate.json"
grep -q '"token_ids"' "$scratch/generate.json" ||
  { echo "prepare: generate on .gpu/jdk printed no output tokens:" >&2; cat "$scratch/generate.json" >&2; exit 1; }
# bench comes from the tools jar: its presence is what run-checks.sh's bench step needs.
glm bench --model "$scratch/tiny" --prompt-tokens 16 --decode-tokens 2 --step-batches 1 >"$scratch/bench.json"
grep -q '"fraction_of_roofline"' "$scratch/bench.json" ||
  { echo "prepare: bench on .gpu/jdk printed no decode step:" >&2; cat "$scratch/bench.json" >&2; exit 1; }

size_mib=$(du -sm "$gpu" | cut -f1)
# What travels besides .gpu: tracked files and untracked ones git does not ignore.
tree_mib=$(git ls-files -z --cached --others --exclude-standard |
           du -c --apparent-size --block-size=1M --files0-from=- 2>/dev/null | tail -n 1 | cut -f1)
echo "prepare: .gpu is ${size_mib} MiB (lib $(du -sm "$gpu/lib" | cut -f1), jdk $(du -sm "$gpu/jdk" | cut -f1));" \
     "the working tree adds ${tree_mib} MiB; modules: $modules"
if [ "$size_mib" -gt "$max_mib" ] || [ $((size_mib + tree_mib)) -gt 64 ]; then
  echo "prepare: too large to travel: the device call carries 64 MiB with the working tree" >&2
  exit 1
fi
