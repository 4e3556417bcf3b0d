import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseQwen2Config } from "../../src/model/config.js";
import { checkTrainingMemory, isAllocationFailure, trainingMemoryNeed, TrainingOutOfMemoryError } from "../../src/train/memory.js";
import { TINY_MATH_MODEL_DIR } from "../../src/model/load.js";
import { SMALL_RANDOM_QWEN2 } from "../../src/model/random.js";
import { train, type TrainableModel } from "../../src/train/index.js";
import { createToyModel, toyExamples } from "./toy-model.js";
import { GOLDEN_DIR } from "../model/golden.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const tied = JSON.parse(readFileSync(join(GOLDEN_DIR, "tiny-tied", "model", "config.json"), "utf8"));
const qwen05 = parseQwen2Config({
  ...tied, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14,
  num_key_value_heads: 2, vocab_size: 151936, tie_word_embeddings: true,
});
const tinyMath = parseQwen2Config(JSON.parse(readFileSync(join(TINY_MATH_MODEL_DIR, "config.json"), "utf8")), "tiny-math");
const s = SMALL_RANDOM_QWEN2;
const randomSmall = parseQwen2Config({
  ...tied, hidden_size: s.hidden, intermediate_size: s.intermediate, num_hidden_layers: s.layers, num_attention_heads: s.heads,
  num_key_value_heads: s.kvHeads, vocab_size: s.vocab, tie_word_embeddings: true,
}, "random-small");
const ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] as const;
const GiB = 2 ** 30;
const WasmRuntimeError = (globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } }).WebAssembly.RuntimeError;

test("the estimate counts LoRA parameters as peft does (Qwen2.5-0.5B, r=16, all linears: 8,798,208), and what a step adds", () => {
  const need = trainingMemoryNeed(qwen05, "lora", { r: 16, targetModules: [...ALL] }, 16);
  // The LoRA tensors are all small: AdamW updates them in groups of at most 2^22 values.
  assert.deepEqual(need.parts.map((p) => p.bytes), [4 * 494_032_768, 16 * 8_798_208, 4 * 8_798_208, 4 * 19 * 2 ** 22, 0.25 * GiB]);
  assert.match(need.parts[1]!.what, /8,798,208 parameters/);
  assert.equal(trainingMemoryNeed(qwen05, "lora", { r: 16 }).parts.length, 4, "no second gradient without accumulation");
  // Every weight trains: the embedding (151,936 × 896) is updated alone.
  assert.deepEqual(trainingMemoryNeed(qwen05, "full").parts.map((p) => p.bytes), [16 * 494_032_768, 4 * 19 * 151_936 * 896, 0.25 * GiB]);
});

/**
 * The wasm heap's size after two steps of bench/train-memory.ts (it only grows: the peak it had to reach), on this
 * machine: the estimate must not be below it, nor far above it.
 */
const MEASURED: { what: string; config: typeof qwen05; r: number; accumulation: number; heapGiB: number }[] = [
  { what: "tiny-math r=1000, 8 × 256", config: tinyMath, r: 1000, accumulation: 1, heapGiB: 0.603 },
  { what: "tiny-math r=2000, 8 × 256", config: tinyMath, r: 2000, accumulation: 1, heapGiB: 0.81 },
  { what: "tiny-math r=4000, 8 × 256", config: tinyMath, r: 4000, accumulation: 1, heapGiB: 1.305 },
  { what: "tiny-math r=2000, 8 × 256 × 2 accumulated", config: tinyMath, r: 2000, accumulation: 2, heapGiB: 0.905 },
  { what: "random-small r=8000, 8 × 256", config: randomSmall, r: 8000, accumulation: 1, heapGiB: 0.773 },
  { what: "Qwen2.5-0.5B shape r=16, 1 × 256", config: qwen05, r: 16, accumulation: 1, heapGiB: 2.39 },
];

test("the estimate covers what a step really held, across ranks and model shapes, within 0.25 GiB", () => {
  for (const m of MEASURED) {
    const estimate = trainingMemoryNeed(m.config, "lora", { r: m.r }, m.accumulation).bytes / GiB;
    assert.ok(estimate >= m.heapGiB && estimate <= m.heapGiB + 0.25, `${m.what}: estimate ${estimate.toFixed(3)} GiB, measured ${m.heapGiB} GiB`);
  }
});

test("--lora-r 18000 on tiny-math, 3.64 GiB of weights, gradients and moments, is refused: the step's temporaries do not fit the 4 GiB heap", () => {
  const wasm = { bytes: 4 * GiB, what: "the wasm backend's heap" };
  assert.throws(
    () => checkTrainingMemory(tinyMath, "lora", { r: 18000 }, 1, wasm),
    /needs about 4\.55 GiB at the peak of a step \(frozen f32 weights: 0\.01 GiB; LoRA r=18000: weights, gradients and AdamW moments of 244,224,000 parameters: 3\.64 GiB; AdamW's temporaries while it updates 9,216,000 values at once: 0\.65 GiB; the step's activations and the allocator \(measured allowance\): 0\.25 GiB\), more than the 4\.00 GiB of the wasm backend's heap: lower the LoRA rank/,
  );
  assert.doesNotThrow(() => checkTrainingMemory(tinyMath, "lora", { r: 4000 }, 1, wasm));
});

test("a setup that cannot fit is refused before anything is allocated, saying what it needs and what to change", () => {
  const wasm = { bytes: 4 * GiB, what: "the wasm backend's heap" };
  assert.doesNotThrow(() => checkTrainingMemory(qwen05, "lora", { r: 16, targetModules: [...ALL] }, 16, wasm));
  assert.throws(
    () => checkTrainingMemory(qwen05, "full", {}, 1, wasm),
    /needs about 17\.2 GiB at the peak of a step \(weights, gradients and AdamW moments of all 494,032,768 parameters: 7\.36 GiB; .*\), more than the 4\.00 GiB of the wasm backend's heap: train LoRA adapters instead/,
  );
  assert.throws(() => checkTrainingMemory(qwen05, "lora", { r: 4096, targetModules: [...ALL] }, 1, wasm), /LoRA r=4096: .*lower the LoRA rank \(lora\.r, --lora-r\)/);
});

test("`openr1 train --lora-r 18000` (it used to die after 36 s with Aborted()) and `--lora-r 100000` stop at once with that message", () => {
  const out = mkdtempSync(join(tmpdir(), "openr1-memory-"));
  try {
    for (const r of ["18000", "100000"]) {
      let stderr = "";
      try {
        execFileSync(process.execPath, ["--import", "tsx", "src/cli.ts", "train", "--lora-r", r, "--max-steps", "1", "--no-progress", "--output-dir", out], {
          cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"],
        });
      } catch (e) {
        stderr = (e as { stderr: string }).stderr;
        assert.equal((e as { status: number }).status, 1);
      }
      assert.match(stderr, new RegExp(`error: This training setup needs about [\\d.]+ GiB at the peak of a step .*LoRA r=${r}.*lower the LoRA rank`));
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("an allocation failure during a step (the wasm heap's abort) is caught and explained: where, what ran out, what to lower", async () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-oom-"));
  const inner = createToyModel({ vocab: 16, dim: 8, seed: 1 });
  let calls = 0;
  // What tfjs-backend-wasm throws when its heap cannot grow (emscripten's abort).
  const model: TrainableModel = {
    trainableVariables: () => inner.trainableVariables(),
    sumLoss: (b, o) => {
      if (++calls === 3) throw new WasmRuntimeError("Aborted(). Build with -sASSERTIONS for more info.");
      return inner.sumLoss(b, o);
    },
  };
  try {
    await assert.rejects(train({ model, train: toyExamples(8, 16, 1), padTokenId: 15, config: { outputDir: dir, batchSize: 2, maxSteps: 5, saveEvery: 1 } }), (e: Error) => {
      assert.ok(e instanceof TrainingOutOfMemoryError);
      assert.match(e.message, /^Training ran out of memory during step 3 \(Aborted\(\)\. Build with -sASSERTIONS for more info\.\): .* holds at most [\d.]+ GiB, .*Lower the LoRA rank \(lora\.r, --lora-r\), the batch size or the sequence length .*The wasm backend cannot go on in this process; the last checkpoint is intact\./);
      return true;
    });
    assert.ok(existsSync(join(dir, "checkpoint-2", "trainer_state.json")));
    assert.ok(isAllocationFailure(new RangeError("Array buffer allocation failed")));
    assert.ok(!isAllocationFailure(new Error("disk full")));
  } finally {
    inner.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a real allocation failure on the wasm backend (a 4.4 GB tensor in the 4 GiB heap) is recognised as one", () => {
  // In a child process: after it, the wasm module cannot be trusted.
  const script = `
    import * as tf from "@tensorflow/tfjs";
    import { selectBackend } from "./src/backend.ts";
    import { isAllocationFailure } from "./src/train/memory.ts";
    await selectBackend("wasm");
    try { tf.tile(tf.ones([1]), [1.1e9]); console.log("allocated"); }
    catch (e) { console.log(JSON.stringify({ name: e.constructor.name, message: e.message, recognised: isAllocationFailure(e) })); }`;
  const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "--eval", script], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const result = JSON.parse(out.trim().split("\n").at(-1)!);
  assert.equal(result.recognised, true, JSON.stringify(result));
});
