"""The PyTorch reference for bench/model.ts: prefill and KV-cache decoding at the same shapes with transformers.

A random Qwen2 of the configuration's shape (float32, eval mode, torch.inference_mode). Prefill: the median of three forwards over
`prefill` tokens keeping the last position's logits (logits_to_keep=1, as the project computes only that row);
decode: a `prompt`-token prompt, then `decode` greedy steps of one token each through the KV cache, at batch 1 and 8,
timed after the first new token (which includes the prompt's prefill), as bench/model.ts does. Prints one JSON line
per measure, then the process's peak RSS. Threads: torch's default on this machine (OMP_NUM_THREADS changes it).

Usage: python3 bench/model_torch.py '{"hidden": 896, "layers": 24, "heads": 14, "kvHeads": 2, "intermediate": 4864,
        "vocab": 151936, "prefill": 256, "prompt": 32, "decode": 16}'
"""
import json
import resource
import sys
import time

import torch
import transformers

from torch_qwen2 import random_qwen2


def main() -> None:
    c = json.loads(sys.argv[1])
    model = random_qwen2(c).eval()
    tool = f"PyTorch {torch.__version__} + transformers {transformers.__version__}"
    g = torch.Generator().manual_seed(2)
    rows = []
    with torch.inference_mode():
        # warm-up (first-call allocations), as the project's first-use row is left out of its figures
        model(input_ids=torch.randint(0, c["vocab"] - 1, (1, 8), generator=g), logits_to_keep=1)
        times = []
        for _ in range(3):  # the median of three, as bench/model.ts
            ids = torch.randint(0, c["vocab"] - 1, (1, c["prefill"]), generator=g)
            t0 = time.perf_counter()
            model(input_ids=ids, logits_to_keep=1).logits.argmax(-1)
            times.append(time.perf_counter() - t0)
        seconds = sorted(times)[1]
        rows.append({"measure": "prefill", "batch": 1, "seq": c["prefill"], "tokensPerSecond": round(c["prefill"] / seconds, 1)})
        for batch in (1, 8):
            ids = torch.randint(0, c["vocab"] - 1, (batch, c["prompt"]), generator=g)
            out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
            past, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
            t0 = time.perf_counter()
            for _ in range(c["decode"]):
                out = model(input_ids=token, past_key_values=past, use_cache=True)
                past, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
            seconds = time.perf_counter() - t0
            rows.append({"measure": "decode (KV cache)", "batch": batch, "tokensPerSecond": round(batch * c["decode"] / seconds, 1)})
    peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    for r in rows:
        print(json.dumps({**r, "tool": tool, "threads": torch.get_num_threads(), "peakRssMiB": peak}))


if __name__ == "__main__":
    main()
