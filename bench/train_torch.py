"""The PyTorch reference for bench/train.ts: the same LoRA training at the same shapes with transformers + peft.

A random Qwen2 of the configuration's shape (float32), LoRA r=16, alpha 32, dropout 0.05 on all seven linears,
AdamW lr 1e-3, clipping at 1.0, `steps` optimizer steps on one fixed batch (prompt tokens masked as in the
project); tokens/s is the input tokens of a step over the median wall time of the steps after the first, and
coresBusy the process's CPU time over the wall time of those steps. Attention is SDPA's; with "checkpointing": true
every decoder layer is recomputed in the backward (transformers' gradient checkpointing, non-reentrant, as open-r1's
recipes set it: what makes long sequences fit). Prints one JSON line. Threads: torch's default on this machine (set
OMP_NUM_THREADS to change it).

Usage: python3 bench/train_torch.py '{"hidden": 256, "layers": 2, "heads": 4, "kvHeads": 2, "intermediate": 1024,
        "vocab": 1000, "batch": 2, "seq": 128, "accumulation": 1, "steps": 11}'
"""
import json
import resource
import statistics
import sys
import time

import peft
import torch
import transformers

from torch_qwen2 import random_qwen2


def main() -> None:
    c = json.loads(sys.argv[1])
    if c.get("memoryLimitGiB"):
        # Address space beyond this fails an allocation (a clean error) instead of waking the kernel's OOM killer,
        # which could pick another process on a shared machine.
        limit = int(c["memoryLimitGiB"] * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        run(c)
    except (RuntimeError, MemoryError) as e:
        if isinstance(e, MemoryError) or "allocate" in str(e) or "memory" in str(e):
            print(json.dumps({"error": f"out of memory within {c.get('memoryLimitGiB')} GiB of address space"}))
            sys.exit(3)
        raise


def run(c: dict) -> None:
    model = random_qwen2(c)
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    if c.get("checkpointing"):
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model = peft.get_peft_model(model, peft.LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules=targets))
    model.train()
    g = torch.Generator().manual_seed(12345)
    examples = c["batch"] * c["accumulation"]
    ids = torch.randint(0, c["vocab"] - 1, (examples, c["seq"]), generator=g)
    labels = ids.clone()
    labels[:, :16] = -100
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3, weight_decay=0.0)
    times, losses, ends = [], [], []
    for _ in range(c["steps"]):
        t0 = time.perf_counter()
        total = 0.0
        for k in range(c["accumulation"]):
            rows = slice(k * c["batch"], (k + 1) * c["batch"])
            out = model(input_ids=ids[rows], labels=labels[rows])
            (out.loss / c["accumulation"]).backward()
            total += out.loss.item() / c["accumulation"]
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
        ends.append((time.process_time(), time.perf_counter()))
        losses.append(round(total, 4))
    step = statistics.median(times[1:])
    print(json.dumps({
        "tool": f"PyTorch {torch.__version__} + transformers {transformers.__version__} + peft {peft.__version__}, {model.config._attn_implementation}"
        + (" + gradient checkpointing" if c.get("checkpointing") else ""),
        "threads": torch.get_num_threads(),
        "stepSeconds": round(step, 3),
        "tokensPerSecond": round(c["batch"] * c["accumulation"] * c["seq"] / step, 1),
        "coresBusy": round((ends[-1][0] - ends[0][0]) / (ends[-1][1] - ends[0][1]), 2),
        "losses": losses,
        "peakRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))


if __name__ == "__main__":
    main()
