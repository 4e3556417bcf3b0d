"""The reference for bench/data.ts: the same filter and split work with pyarrow, for a timing beside `openr1 data`.

Reads the shards' columns, keeps rows with a non-empty problem and answer and a generation that Math-Verify verified
and that finished (the first such is the reasoning trace), drops repeated problems, places each problem by the
sha256 of (seed, normalised problem) with the smallest hashes in validation, and writes train.jsonl and
validation.jsonl in input order. Usage: python3 bench/data_pyarrow.py SHARD_DIR OUT_DIR VALIDATION [SEED]
"""
import hashlib
import json
import os
import sys
import unicodedata

import pyarrow.parquet as pq

shards, out, validation = sys.argv[1], sys.argv[2], int(sys.argv[3])
seed = sys.argv[4] if len(sys.argv) > 4 else "42"
columns = ["problem", "solution", "answer", "problem_type", "question_type", "source", "uuid", "generations", "correctness_math_verify", "is_reasoning_complete"]
kept, seen = [], set()
for name in sorted(os.listdir(shards)):
    table = pq.read_table(os.path.join(shards, name), columns=columns)
    for row in table.to_pylist():
        problem, answer = row["problem"] or "", row["answer"] or ""
        if not problem.strip() or not answer.strip():
            continue
        gens, ok, done = row["generations"] or [], row["correctness_math_verify"] or [], row["is_reasoning_complete"] or []
        reasoning = next((g for g, a, b in zip(gens, ok, done) if a and b), None)
        if reasoning is None:
            continue
        key = " ".join(unicodedata.normalize("NFKC", problem).lower().split())
        if key in seen:
            continue
        seen.add(key)
        kept.append((key, {"id": row["uuid"], "problem": problem, "solution": row["solution"] or "", "reasoning": reasoning, "answer": answer,
                           "problemType": row["problem_type"] or "", "questionType": row["question_type"] or "", "source": row["source"] or ""}))
order = sorted(range(len(kept)), key=lambda i: hashlib.sha256(f"{seed}\0{kept[i][0]}".encode()).hexdigest())
in_validation = set(order[:validation])
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "train.jsonl"), "w") as train, open(os.path.join(out, "validation.jsonl"), "w") as val:
    for i, (_, example) in enumerate(kept):
        (val if i in in_validation else train).write(json.dumps(example, ensure_ascii=False) + "\n")
print(len(kept))
