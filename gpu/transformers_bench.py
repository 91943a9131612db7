"""Reference figures for the CUDA backend, from Hugging Face transformers on the same GPU.

Runs on the lent GPU machine (gpu/run-checks.sh transformers). Loads a checkpoint written by
`bin/glm make-model` (Hugging Face layout, model_type "glm") and runs the workload of
`bin/glm bench --concurrency ... --sweep-prompt-tokens MIN,MAX --output-tokens N --requests-per-client 1`
at one concurrency: that many prompts of random tokens, lengths spread over [MIN, MAX], N new tokens
each, all in one left-padded batch. Also times batch-1 decode, one prefill forward, and the two
ceilings every figure is read against: the bf16 matmul rate and the device copy bandwidth.
Prints one JSON object on stdout. Without --model it measures the ceilings alone.

    python3 gpu/transformers_bench.py --model /tmp/m-9b --concurrency 32 --prompt-tokens 128,512 --output-tokens 64
"""
import argparse
import json
import statistics
import sys
import time

import torch


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="checkpoint directory; without it only the matmul and copy probes run")
    p.add_argument("--concurrency", type=int, default=32, help="prompts generated together in one batch")
    p.add_argument("--prompt-tokens", default="128,512", help="MIN,MAX prompt length, as bench --sweep-prompt-tokens")
    p.add_argument("--output-tokens", type=int, default=64, help="new tokens per prompt (eos suppressed)")
    p.add_argument("--prefill-tokens", type=int, default=2048, help="prompt length of the prefill and batch-1 runs")
    p.add_argument("--decode-tokens", type=int, default=64, help="tokens of the batch-1 decode run")
    p.add_argument("--matmul-size", type=int, default=8192, help="N of the N x N x N bf16 matmul probe")
    p.add_argument("--copy-gib", type=float, default=4.0, help="size of the tensor the copy probe copies")
    p.add_argument("--device", default="cuda", help="cuda, or cpu for a smoke test without a GPU")
    p.add_argument("--seed", type=int, default=42)
    args = p.parse_args(argv)
    lo, hi = (int(x) for x in args.prompt_tokens.split(","))
    if not 1 <= lo <= hi:
        p.error("--prompt-tokens takes MIN,MAX with 1 <= MIN <= MAX")
    args.prompt_range = (lo, hi)
    return args


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_seconds(fn, device, reps, warmup=2):
    """Median wall time of fn() over reps runs, after warm-up; the device is drained around each run."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matmul_tflops(device, n):
    """bf16 n x n x n matmul rate on random data (zeros run faster than real data on the H200)."""
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    seconds = median_seconds(lambda: torch.matmul(a, b), device, reps=10, warmup=3)
    return 2.0 * n ** 3 / seconds / 1e12


def copy_bandwidth_gbs(device, gib):
    """Device-to-device copy rate counting bytes read plus bytes written, as the HBM ceiling."""
    elements = int(gib * (1 << 30)) // 2
    src = torch.randn(elements, device=device, dtype=torch.bfloat16)
    dst = torch.empty_like(src)
    seconds = median_seconds(lambda: dst.copy_(src), device, reps=10, warmup=2)
    return 2.0 * elements * 2 / seconds / 1e9


def load_model(path, device):
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(path)
    # bin/glm make-model writes no pad_token_id; GlmConfig's default (151329) is outside a small
    # preset's vocabulary and nn.Embedding refuses it. The batch below pads with id 0 and masks it.
    if config.pad_token_id is not None and config.pad_token_id >= config.vocab_size:
        config.pad_token_id = None
    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    dtype_arg = "dtype" if (major, minor) >= (4, 56) else "torch_dtype"  # renamed in 4.56
    # device_map puts each tensor straight on the GPU: no 18.8 GB stop in host memory on the way.
    model = AutoModelForCausalLM.from_pretrained(path, config=config, device_map=str(device),
                                                 **{dtype_arg: torch.bfloat16})
    return model.eval()


def left_padded_batch(lengths, vocab, device, generator):
    """Random prompts of the given lengths, left-padded with id 0, and their attention mask."""
    width = max(lengths)
    ids = torch.zeros(len(lengths), width, dtype=torch.long)
    mask = torch.zeros(len(lengths), width, dtype=torch.long)
    for row, n in enumerate(lengths):
        ids[row, width - n:] = torch.randint(0, vocab, (n,), generator=generator)
        mask[row, width - n:] = 1
    return ids.to(device), mask.to(device)


def timed_generate(model, ids, mask, new_tokens, device):
    """Seconds for one greedy generate of exactly new_tokens per row, after one untimed warm-up."""
    def run():
        return model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens,
                              min_new_tokens=new_tokens, do_sample=False, pad_token_id=0)
    run()
    sync(device)
    t0 = time.perf_counter()
    out = run()
    sync(device)
    seconds = time.perf_counter() - t0
    assert out.shape[1] == ids.shape[1] + new_tokens, f"generate returned {out.shape[1] - ids.shape[1]} new tokens"
    return seconds


def decode_figures(model, lengths, new_tokens, device, generator):
    """Aggregate output rate of one batch, and its decode rate with the prefill (a 1-token run) taken out."""
    ids, mask = left_padded_batch(lengths, model.config.vocab_size, device, generator)
    wall = timed_generate(model, ids, mask, new_tokens, device)
    first = timed_generate(model, ids, mask, 1, device)
    rows = len(lengths)
    return {
        "wall_s": wall,
        "first_token_wall_s": first,
        "aggregate_output_tokens_per_s": rows * new_tokens / wall,
        "decode_tokens_per_s": rows * (new_tokens - 1) / (wall - first) if wall > first else None,
    }


def prefill_figures(model, tokens, device, generator, matmul_params, matmul_rate):
    """One forward over a batch-1 prompt, logits for its last position only, as bench's prefill."""
    ids = torch.randint(0, model.config.vocab_size, (1, tokens), generator=generator).to(device)

    def forward():
        with torch.inference_mode():
            try:
                return model(input_ids=ids, use_cache=False, logits_to_keep=1)
            except TypeError:  # transformers before logits_to_keep
                return model(input_ids=ids, use_cache=False)

    seconds = median_seconds(forward, device, reps=3, warmup=1)
    tflops = 2.0 * matmul_params * tokens / seconds / 1e12  # weights only; attention adds a few percent at 2048
    return {"tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds,
            "weight_matmul_tflops": tflops, "fraction_of_matmul_rate": tflops / matmul_rate}


def main(argv=None):
    args = parse_args(argv)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    result = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "torch": torch.__version__}
    print("transformers_bench: matmul and copy probes", file=sys.stderr)
    rate = matmul_tflops(device, args.matmul_size)
    bandwidth = copy_bandwidth_gbs(device, args.copy_gib)
    result["probe"] = {"bf16_matmul_tflops": rate, "matmul_size": args.matmul_size,
                       "copy_bandwidth_gbs": bandwidth, "copy_gib": args.copy_gib}
    if device.type == "cuda":
        torch.cuda.empty_cache()  # the probes' buffers, before the model takes their place
    if args.model:
        import transformers
        print(f"transformers_bench: loading {args.model}", file=sys.stderr)
        t0 = time.perf_counter()
        model = load_model(args.model, device)
        load_seconds = time.perf_counter() - t0
        weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
        # Bytes a decode step must read: every weight but the embedding table, of which it reads one row.
        embed = model.get_input_embeddings().weight
        bytes_per_token = weight_bytes - embed.numel() * embed.element_size()
        matmul_params = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
        generator = torch.Generator().manual_seed(args.seed)
        lo, hi = args.prompt_range
        n = args.concurrency
        lengths = [lo + (hi - lo) * i // max(n - 1, 1) for i in range(n)]  # evenly over [MIN, MAX]

        print("transformers_bench: prefill", file=sys.stderr)
        prefill = prefill_figures(model, args.prefill_tokens, device, generator, matmul_params, rate)
        print("transformers_bench: batch-1 decode", file=sys.stderr)
        batch1 = decode_figures(model, [args.prefill_tokens], args.decode_tokens, device, generator)
        batch1["hbm_limit_tokens_per_s"] = bandwidth * 1e9 / bytes_per_token
        print(f"transformers_bench: {n} prompts of {lo}..{hi} tokens, {args.output_tokens} new each", file=sys.stderr)
        batch = decode_figures(model, lengths, args.output_tokens, device, generator)
        batch.update({"concurrency": n, "prompt_tokens": [lo, hi], "output_tokens": args.output_tokens})

        result.update({
            "transformers": transformers.__version__,
            "model": args.model,
            "parameters": sum(p.numel() for p in model.parameters()),
            "attn_implementation": getattr(model.config, "_attn_implementation", None),
            "load_s": load_seconds,
            "weight_bytes_per_token": bytes_per_token,
            "prefill": prefill,
            "batch1": batch1,
            "batch": batch,
        })
        if device.type == "cuda":
            result["max_memory_allocated_gib"] = torch.cuda.max_memory_allocated(device) / (1 << 30)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
