#!/usr/bin/env bash
# gpu/run-checks.sh: the CUDA backend's correctness check and benchmarks, on the lent H200 machine.
# Runs there, from the repository root, with .gpu/ (made here by gpu/prepare.sh) carried along:
#   gpu/run-checks.sh [correctness|bench|transformers|probe|all]...      (default: all)
#     correctness   CudaCheck on a tiny bf16 model: GPU against CPU logits, KV, batching, golden vectors
#     bench         bin/glm bench --backend cuda on a GLM-4-9B-shaped checkpoint of random bf16 weights
#     transformers  the same workload through Hugging Face transformers, with the matmul and copy ceilings
#     probe         the matmul and copy ceilings alone
# Every step is time-boxed (T_* below, seconds), and none runs past T_TOTAL from the start, so that
# "all" ends, summary included, inside one 10-minute device call. Each step's JSON lands in $OUT
# (./gpu-out without one), run.log holds everything, and a summary table comes last.
set -uo pipefail # no -e: a failed step is reported and the next one still runs
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
out=${OUT:-$PWD/gpu-out}
mkdir -p "$out"
exec > >(tee -a "$out/run.log") 2>&1

: "${T_TOTAL:=570}" "${T_CORRECTNESS:=150}" "${T_MODEL:=300}" "${T_BENCH:=200}" "${T_TRANSFORMERS:=150}"
# GLM-4-9B's shape, about 18.8 GB, kept between calls while the machine stays warm. BENCH_PRESET=tiny
# runs the same steps on a tiny model, to try this script out on a machine without a GPU.
: "${BENCH_PRESET:=9b-shape}"
model_9b=/tmp/m-bench-$BENCH_PRESET

correctness=0 bench=0 transformers=0 probe=0
for step in "${@:-all}"; do
  case $step in
    all) correctness=1 bench=1 transformers=1 ;;
    correctness) correctness=1 ;;
    bench) bench=1 ;;
    transformers) transformers=1 ;;
    probe) probe=1 ;;
    *) echo "usage: gpu/run-checks.sh [correctness|bench|transformers|probe|all]..." >&2; exit 2 ;;
  esac
done

echo "== GPU"
nvidia-smi

# The JavaCPP presets carry only JNI glue: libcudart, libcublas(Lt) and libnvrtc come from the CUDA 13
# wheels PyTorch brought (nvidia/cu13/lib, or nvidia/*/lib in older layouts), libcuda from the driver.
echo "== CUDA 13 libraries in the Python environment's nvidia wheels"
wheel_dirs=$(python3 - libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libnvrtc.so.13 \
    'libnvrtc-builtins.so.13*' libnvJitLink.so.13 <<'EOF'
import glob, os, site, sys
roots = [os.path.join(p, "nvidia") for p in site.getsitepackages()]
try:
    import nvidia  # a namespace package: its folders, wherever they are
    roots += list(nvidia.__path__)
except ImportError:
    pass
dirs = []
for name in sys.argv[1:]:
    hits = sorted({h for r in set(roots) for h in glob.glob(os.path.join(r, "**", name), recursive=True)})
    print(f"  {name}: {', '.join(os.path.realpath(h) for h in hits) or 'NOT FOUND'}", file=sys.stderr)
    dirs += [d for d in dict.fromkeys(os.path.dirname(h) for h in hits) if d not in dirs]
print(":".join(dirs))
EOF
)
driver_dir=""
if ! ldconfig -p | grep -q 'libcuda\.so\.1 '; then
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu; do
    [ -e "$d/libcuda.so.1" ] && { driver_dir=$d; break; }
  done
fi
toolkit_dir=""
[ -d /usr/local/cuda/lib64 ] && toolkit_dir=/usr/local/cuda/lib64 # last: only for what the wheels lack
LD_LIBRARY_PATH=$(printf '%s\n' "$wheel_dirs" "$driver_dir" "$toolkit_dir" "${LD_LIBRARY_PATH:-}" | grep -v '^$' | paste -sd: -)
export LD_LIBRARY_PATH
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"

java=(.gpu/jdk/bin/java --add-modules jdk.incubator.vector -Dflinkglm.trace=true -cp '.gpu/lib/*')
glm=io.flinkglm.runtime.cli.Glm
if [ $((correctness + bench + transformers)) -gt 0 ] && [ ! -x .gpu/jdk/bin/java ]; then
  echo "no .gpu/jdk here: run gpu/prepare.sh on the development machine and name .gpu in the call's carry" >&2
  exit 1
fi
[ -x .gpu/jdk/bin/java ] && "${java[0]}" -version 2>&1 | head -n 1

summary=()
# run_step NAME SECONDS COMMAND...: runs COMMAND for at most SECONDS (less if T_TOTAL is nearer);
# its stdout, the step's JSON, also goes to $out/NAME.json.
run_step() {
  local name=$1 limit=$(($2 < T_TOTAL - SECONDS ? $2 : T_TOTAL - SECONDS)) start=$SECONDS rc
  shift 2
  if [ "$limit" -lt 10 ]; then
    echo "== $name: skipped, T_TOTAL=${T_TOTAL}s is spent"
    summary+=("$name: skipped, no time left")
    return 1
  fi
  echo "== $name (at most ${limit}s)"
  timeout -k 10 "$limit" "$@" | tee "$out/$name.json"
  rc=${PIPESTATUS[0]}
  [ "$rc" -eq 124 ] && echo "$name: stopped at its ${limit}s limit"
  echo "== $name: exit $rc after $((SECONDS - start))s"
  summary+=("$name: exit $rc, $((SECONDS - start))s")
  return "$rc"
}

# The 9B-shaped checkpoint takes a few minutes to write: started first, in the background, so that
# it overlaps the correctness step. Written under a .partial name, so a stopped run is never reused.
if [ $((bench + transformers)) -gt 0 ] && [ ! -f "$model_9b/config.json" ]; then
  echo "== writing the $BENCH_PRESET checkpoint to $model_9b in the background (at most ${T_MODEL}s)"
  rm -rf "$model_9b.partial"
  (timeout -k 10 "$T_MODEL" "${java[@]}" -Xmx4g $glm make-model --preset "$BENCH_PRESET" --dtype bf16 \
      --out "$model_9b.partial" >/tmp/make-9b.json 2>/tmp/make-9b.log &&
    mv "$model_9b.partial" "$model_9b") &
  model_job=$!
fi

if [ $correctness -eq 1 ]; then
  # tiny: the golden vectors; small: shapes wide enough that linear_mma splits K into slices.
  for preset in tiny small; do
    rm -rf "/tmp/m-$preset"
    "${java[@]}" -Xmx4g $glm make-model --preset $preset --dtype bf16 --out "/tmp/m-$preset" >/dev/null
  done
  vectors=()
  [ -d .gpu/vectors ] && vectors=(--vectors .gpu/vectors)
  run_step correctness "$T_CORRECTNESS" "${java[@]}" -Xmx8g io.flinkglm.runtime.tools.CudaCheck \
    --model /tmp/m-tiny "${vectors[@]}"
  run_step correctness-small "$T_CORRECTNESS" "${java[@]}" -Xmx8g io.flinkglm.runtime.tools.CudaCheck \
    --model /tmp/m-small
fi

if [ -n "${model_job:-}" ]; then
  wait "$model_job" || { echo "writing $model_9b failed; its log ends:"; tail -n 5 /tmp/make-9b.log; }
fi
if [ $bench -eq 1 ] && [ -f "$model_9b/config.json" ]; then
  # The model sits on the Java heap as bf16 before it goes to the GPU: 18.8 GB of the 48.
  run_step bench "$T_BENCH" "${java[@]}" -Xmx48g $glm bench --model "$model_9b" --backend cuda \
    --prompt-tokens 2048 --decode-tokens 64 --concurrency 8,32,64 --output-tokens 64 \
    --requests-per-client 1 --sweep-prompt-tokens 128,512 --step-batches 1,8,32,64
fi
if [ $transformers -eq 1 ] && [ -f "$model_9b/config.json" ]; then
  PYTHONUNBUFFERED=1 run_step transformers "$T_TRANSFORMERS" python3 gpu/transformers_bench.py \
    --model "$model_9b" --concurrency 32 --prompt-tokens 128,512 --output-tokens 64 \
    --prefill-tokens 2048 --decode-tokens 64
elif [ $probe -eq 1 ]; then
  PYTHONUNBUFFERED=1 run_step probe 60 python3 gpu/transformers_bench.py
fi

echo "== summary"
printf '%s\n' "${summary[@]}"
python3 gpu/summary.py "$out"
