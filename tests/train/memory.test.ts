import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseQwen2Config } from "../../src/model/config.js";
import { checkTrainingMemory, trainingMemoryFloor } from "../../src/train/memory.js";
import { GOLDEN_DIR } from "../model/golden.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const tied = JSON.parse(readFileSync(join(GOLDEN_DIR, "tiny-tied", "model", "config.json"), "utf8"));
const qwen05 = parseQwen2Config({
  ...tied, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14,
  num_key_value_heads: 2, vocab_size: 151936, tie_word_embeddings: true,
});
const ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] as const;
const GiB = 2 ** 30;

test("the memory floor counts LoRA parameters as peft does (Qwen2.5-0.5B, r=16, all linears: 8,798,208)", () => {
  const floor = trainingMemoryFloor(qwen05, "lora", { r: 16, targetModules: [...ALL] });
  assert.deepEqual(floor.parts.map((p) => p.bytes), [4 * 494_032_768, 16 * 8_798_208]);
  assert.match(floor.parts[1]!.what, /8,798,208 parameters/);
  assert.equal(trainingMemoryFloor(qwen05, "full").bytes, 16 * 494_032_768);
});

test("a setup that cannot fit is refused before anything is allocated, saying what it needs and what to change", () => {
  const wasm = { bytes: 4 * GiB, what: "the wasm backend's heap" };
  assert.doesNotThrow(() => checkTrainingMemory(qwen05, "lora", { r: 16, targetModules: [...ALL] }, wasm));
  assert.throws(
    () => checkTrainingMemory(qwen05, "full", {}, wasm),
    /needs at least 7\.36 GiB before any activation \(weights, gradients and AdamW moments of all 494,032,768 parameters: 7\.36 GiB\), more than the 4\.00 GiB of the wasm backend's heap: train LoRA adapters instead/,
  );
  assert.throws(() => checkTrainingMemory(qwen05, "lora", { r: 4096, targetModules: [...ALL] }, wasm), /LoRA r=4096: .*lower the LoRA rank \(lora\.r, --lora-r\)/);
});

test("`openr1 train --lora-r 100000` stops at once with that message instead of running out of memory", () => {
  const out = mkdtempSync(join(tmpdir(), "openr1-memory-"));
  try {
    let stderr = "";
    try {
      execFileSync(process.execPath, ["--import", "tsx", "src/cli.ts", "train", "--lora-r", "100000", "--max-steps", "1", "--no-progress", "--output-dir", out], {
        cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (e) {
      stderr = (e as { stderr: string }).stderr;
      assert.equal((e as { status: number }).status, 1);
    }
    assert.match(stderr, /error: This training setup needs at least [\d.]+ GiB before any activation .*LoRA r=100000.*lower the LoRA rank/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
