import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { LoraModel } from "../../src/model/lora.js";
import { Qwen2Model } from "../../src/model/qwen2.js";
import { loadTokenizer } from "../../src/tokenizer/index.js";
import { accumulateGradients, collate, loraOutputs, train, type TrainerCallback } from "../../src/train/index.js";
import { toyExamples } from "./toy-model.js";

await selectBackend();

// The tiny transformers-made Qwen2 (vocab 256, 2 layers, hidden 64) of the golden fixtures, with fresh LoRA.
const MODEL_DIR = fileURLToPath(new URL("../fixtures/golden/tiny-tied/model", import.meta.url));
const V = 256;
const PAD = V - 1;
const LORA = { r: 4, alpha: 8, dropout: 0.1 };
const data = toyExamples(6, V, 3);
const config = (outputDir: string) => ({
  outputDir, batchSize: 2, gradientAccumulation: 2, learningRate: 2e-2, maxSteps: 30, warmupRatio: 0.1,
  saveEvery: 10, keepCheckpoints: 2, logEvery: 5, seed: 3, maxGradNorm: 1,
});
const fresh = async (seed = 0) => LoraModel.create(await Qwen2Model.fromDirectory(MODEL_DIR), LORA, seed);
const evalLoss = async (lora: LoraModel, examples = data) => {
  const b = collate(examples, PAD);
  const t = lora.sumLoss(b, { training: false });
  const v = (await t.data())[0]!;
  t.dispose();
  return v;
};

test("tiny Qwen2 + LoRA: loss falls by a large factor, memory flat, peft adapter and merged model saved and reloaded", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lora-train-"));
  const lora = await fresh();
  const counts: number[] = [];
  const probe: TrainerCallback = { onStepEnd: () => void counts.push(tf.memory().numTensors) };
  try {
    const tokenizer = loadTokenizer();
    const res = await train({
      model: lora, train: data, padTokenId: PAD, config: config(dir), callbacks: [probe],
      outputs: loraOutputs(lora, { tokenizer, mergedDtype: "f32" }),
    });
    const first = res.steps[0]!.loss;
    const last = res.steps.at(-1)!.loss;
    assert.ok(last < first / 50, `loss ${first} → ${last}`);
    console.log(`tiny Qwen2 + LoRA: loss ${first.toFixed(3)} → ${last.toFixed(3)} in ${res.globalStep} steps`);
    assert.equal(new Set(counts.slice(1)).size, 1, `numTensors per step: ${counts.join(",")}`);

    assert.deepEqual(readdirSync(res.adapterDir!).sort(), ["adapter_config.json", "adapter_model.safetensors"]);
    assert.deepEqual(readdirSync(res.mergedDir!).sort(), ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
    assert.deepEqual(readdirSync(join(dir, "checkpoint-30")).sort(), ["adapter_config.json", "adapter_model.safetensors", "optimizer.safetensors", "trainer_state.json"]);

    const trained = await evalLoss(lora);
    lora.dispose(); // tfjs registers variable names globally: one LoRA model at a time
    lora.base.dispose();
    const reloaded = await LoraModel.load(await Qwen2Model.fromDirectory(MODEL_DIR), res.adapterDir!);
    assert.equal(await evalLoss(reloaded), trained);
    reloaded.dispose();
    reloaded.base.dispose();
    const merged = await Qwen2Model.fromDirectory(res.mergedDir!);
    const m = merged.sumLoss(collate(data, PAD), { training: false }).sum;
    assert.ok(Math.abs((await m.data())[0]! - trained) / trained < 1e-4);
    m.dispose();
    merged.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("tiny Qwen2 + LoRA with dropout: resuming from a checkpoint reproduces the uninterrupted losses exactly", async () => {
  const dirs = [mkdtempSync(join(tmpdir(), "lora-a-")), mkdtempSync(join(tmpdir(), "lora-b-"))];
  try {
    const cfg = (d: string) => ({ ...config(d), maxSteps: 14, saveEvery: 5 });
    let model = await fresh();
    const straight = await train({ model, train: data, padTokenId: PAD, config: cfg(dirs[0]!) });
    model.dispose();
    model.base.dispose();
    const controller = new AbortController();
    const stop: TrainerCallback = { onStepEnd: (_l, s) => void (s.globalStep === 6 && controller.abort()) };
    model = await fresh();
    await train({ model, train: data, padTokenId: PAD, config: cfg(dirs[1]!), callbacks: [stop], signal: controller.signal });
    model.dispose();
    model.base.dispose();
    model = await fresh(7);
    const resumed = await train({ model, train: data, padTokenId: PAD, config: cfg(dirs[1]!), resumeFrom: "latest" });
    model.dispose();
    model.base.dispose();
    assert.deepEqual(resumed.steps.map((s) => s.loss), straight.steps.slice(6).map((s) => s.loss), "resumes at the step where it was interrupted");
  } finally {
    dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  }
});

test("tiny Qwen2 + peft adapter: 3 right-padded micro-batches give the gradients of one 3-times larger batch", async () => {
  const base = await Qwen2Model.fromDirectory(MODEL_DIR);
  const lora = await LoraModel.load(base, fileURLToPath(new URL("../fixtures/golden/tiny-tied/lora/adapter", import.meta.url)));
  const examples = toyExamples(6, V, 11); // lengths differ: each micro-batch pads differently from the big batch
  const micro = await accumulateGradients(lora, [0, 2, 4].map((i) => collate(examples.slice(i, i + 2), PAD)), { training: false });
  const whole = await accumulateGradients(lora, [collate(examples, PAD)], { training: false });
  assert.ok(Math.abs(micro.loss - whole.loss) < 1e-5 * whole.loss);
  assert.equal(micro.numTargetTokens, whole.numTargetTokens);
  for (const [name, g] of whole.grads) {
    const a = await micro.grads.get(name)!.data();
    const b = await g.data();
    const scale = Math.max(...Array.from(b, Math.abs));
    for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-4 * scale, `${name}[${i}]: ${a[i]} vs ${b[i]}`);
  }
  for (const g of [...micro.grads.values(), ...whole.grads.values()]) g.dispose();
  lora.dispose();
  base.dispose();
});
