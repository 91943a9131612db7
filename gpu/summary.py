"""Prints the figures gpu/run-checks.sh wrote to OUT next to the ceilings each is read against.

    python3 gpu/summary.py OUT

Reads OUT/correctness.json and OUT/correctness-small.json (CudaCheck, naming any failed check), OUT/bench.json (bin/glm bench --backend cuda) and
OUT/transformers.json or OUT/probe.json (gpu/transformers_bench.py); a missing file is skipped.
"""
import json
import os
import sys


def load(out, name):
    try:
        with open(os.path.join(out, name + ".json")) as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        return None


def fmt(x, digits=1):
    return "-" if x is None else f"{x:,.{digits}f}"


def ratio(a, b):
    return a / b if a is not None and b else None


def main(out):
    bench = load(out, "bench")
    hf = load(out, "transformers") or load(out, "probe")
    rows = []
    for name in ("correctness", "correctness-small"):
        check = load(out, name)
        if check is not None:
            failed = [k for k, v in check.items() if isinstance(v, dict) and v.get("passed") is False]
            rows.append((f"{name} (CudaCheck)", "passed" if check.get("passed") else "FAILED",
                         "failed: " + ", ".join(failed) if failed else ""))
    if bench:
        # A decode step at batch 1 reads every weight once: its ceiling is weight bytes / copy bandwidth.
        limit = ratio(bench["measured_bandwidth_gbs"] * 1e9, bench["weight_bytes_per_token"])
        rows.append((f"batch-1 decode, {bench['prompt_tokens']}-token context, tok/s",
                     fmt(bench["decode_tokens_per_s"]),
                     f"HBM limit {fmt(limit)} (copy {fmt(bench['measured_bandwidth_gbs'])} GB/s);"
                     f" {fmt(100 * bench['bandwidth_fraction'])}% of it"))
        gemm = bench.get("measured_bf16_gemm_tflops")
        rows.append((f"prefill {bench['prompt_tokens']} tokens, tok/s", fmt(bench["prefill_tokens_per_s"]),
                     f"{fmt(bench.get('prefill_tflops'))} TFLOP/s of {fmt(gemm)} (cuBLAS GEMM);"
                     f" {fmt(100 * (bench.get('prefill_fraction_of_gemm_rate') or 0))}%"))
        for level in bench.get("sweep", []):
            rows.append((f"engine sweep at {level['concurrency']}, output tok/s", fmt(level["decode_tokens_per_s"]),
                         f"ttft p50 {fmt(level['ttft_ms_p50'], 0)} ms, tpot p50 {fmt(level['tpot_ms_p50'])} ms"))
    if hf:
        probe = hf["probe"]
        n = probe["matmul_size"]
        rows.append((f"bf16 matmul {n}^3 (torch), TFLOP/s", fmt(probe["bf16_matmul_tflops"]), "H200 datasheet ~990 dense"))
        rows.append(("device copy (torch), GB/s read+write", fmt(probe["copy_bandwidth_gbs"]), "H200 datasheet 4,800"))
    if hf and "batch" in hf:
        b1, batch, prefill = hf["batch1"], hf["batch"], hf["prefill"]
        rows.append(("transformers batch-1 decode, tok/s", fmt(b1["decode_tokens_per_s"]),
                     f"HBM limit {fmt(b1['hbm_limit_tokens_per_s'])}"))
        rows.append((f"transformers prefill {prefill['tokens']}, tok/s", fmt(prefill["tokens_per_s"]),
                     f"{fmt(prefill['weight_matmul_tflops'])} TFLOP/s;"
                     f" {fmt(100 * prefill['fraction_of_matmul_rate'])}% of the matmul probe"))
        ours = next((lv["decode_tokens_per_s"] for lv in (bench or {}).get("sweep", [])
                     if lv["concurrency"] == batch["concurrency"]), None)
        rows.append((f"transformers at {batch['concurrency']}, output tok/s",
                     fmt(batch["aggregate_output_tokens_per_s"]),
                     f"ours / transformers = {fmt(ratio(ours, batch['aggregate_output_tokens_per_s']), 2)}"))
    width = max((len(r[0]) for r in rows), default=0)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "gpu-out")
