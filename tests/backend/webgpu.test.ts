/**
 * The WebGPU backend (Dawn over Vulkan: a GPU, or Mesa's lavapipe in CI). Skipped where no adapter exists;
 * `npm run test:webgpu` also runs the golden model suite and LoRA training on it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { findWebGpuAdapter, setBindingLimitOverride, WebGpuError } from "../../src/webgpu.js";
import { generateAsync } from "../../src/model/generate.js";
import { LoraModel } from "../../src/model/lora.js";
import { Qwen2Model } from "../../src/model/qwen2.js";
import { TINY_MATH_MODEL_DIR } from "../../src/model/load.js";
import { train } from "../../src/train/index.js";
import { toyExamples } from "../train/toy-model.js";
import { GOLDEN_DIR, maxDiffMasked, readGolden } from "../model/golden.js";

const found = await findWebGpuAdapter();
const skip = "why" in found ? `no WebGPU adapter here: ${found.why}` : false;

/** Runs `fn` with the binding limit lowered to `mb` MiB (what OPENR1_WEBGPU_MAX_BINDING_MB does). */
async function withLimit<T>(mb: number, fn: () => Promise<T>): Promise<T> {
  setBindingLimitOverride(mb);
  try {
    return await fn();
  } finally {
    setBindingLimitOverride(undefined);
  }
}

test("webgpu is selected by name and says which adapter it runs on", { skip }, async () => {
  const info = await selectBackend("webgpu");
  assert.equal(tf.getBackend(), "webgpu");
  assert.match(info.source, /tfjs-backend-webgpu on .+ \(Dawn/);
  assert.deepEqual(await tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).data(), Float32Array.of(11));
});

test("a tensor over the adapter's binding limit is refused with the limit named, never computed wrong", { skip }, async () => {
  await selectBackend("webgpu");
  const x = tf.zeros([300_000]); // 1.14 MiB
  await withLimit(1, async () => {
    assert.throws(() => tf.add(x, 1), (e: Error) => e instanceof WebGpuError && /1\.14\d? MiB tensor is over .* binding limit of 1\.000 MiB|1 MiB tensor is over .* binding limit of 1 MiB/.test(e.message));
  });
  const y = tf.add(x, 1);
  assert.equal((await y.data())[299_999], 1, "under the real limit it computes");
  tf.dispose([x, y]);
});

test("a WebGPU validation error makes the next read throw, naming Dawn's message", { skip }, async () => {
  await selectBackend("webgpu");
  // AddN binds one buffer per input: 40 inputs are over every adapter's per-stage limit.
  const parts = Array.from({ length: 40 }, (_, i) => tf.fill([4], i));
  const sum = tf.addN(parts);
  await assert.rejects(sum.data(), (e: Error) => e instanceof WebGpuError && /storage buffers/.test(e.message));
  tf.dispose([...parts, sum]);
  const ok = tf.add(tf.ones([2]), 1);
  assert.deepEqual(await ok.data(), Float32Array.of(2, 2), "the backend works again after the error was reported");
  ok.dispose();
});

test("a vocabulary table over the binding limit is split: golden logits, loss and generation unchanged", { skip }, async () => {
  await selectBackend("webgpu");
  const g = readGolden("tiny-tied");
  // The tiny model's [64, 256] table is 64 KiB, its largest other tensor 32 KiB: a 40 KiB limit splits only the table.
  await withLimit(0.04, async () => {
    const model = await Qwen2Model.fromDirectory(join(GOLDEN_DIR, "tiny-tied", "model"));
    const input = { inputIds: g.inputs.input_ids, attentionMask: g.inputs.attention_mask, positionIds: g.inputs.position_ids };
    const logits = model.forward(input);
    assert.ok(maxDiffMasked((await logits.array()) as number[][][], g.forward.logits, g.inputs.attention_mask) < 1e-4);
    logits.dispose();
    const { sum, count } = model.sumLoss({ ...input, labels: g.inputs.labels });
    assert.ok(Math.abs((await sum.data())[0]! / count - g.forward.loss) < 1e-4);
    sum.dispose();
    const out = await generateAsync(model, { inputIds: g.inputs.input_ids, attentionMask: g.inputs.attention_mask }, { maxNewTokens: 10, eosTokenIds: [] });
    assert.deepEqual(out.newTokens, g.generate.new_tokens);
    model.dispose();
  });
});

/** LoRA on the shipped model (the embedded default's base), a few steps on `backend`: the losses per step. */
async function loraLosses(backend: "webgpu" | "wasm"): Promise<{ losses: number[]; tensors: number[] }> {
  await selectBackend(backend);
  const dir = mkdtempSync(join(tmpdir(), `webgpu-${backend}-`));
  const base = await Qwen2Model.fromDirectory(TINY_MATH_MODEL_DIR);
  const V = base.config.vocabSize;
  const lora = await LoraModel.create(base, { r: 8, alpha: 16, dropout: 0.05 }, 1);
  const tensors: number[] = [];
  try {
    const res = await train({
      model: lora, train: toyExamples(8, V, 5), padTokenId: V - 1,
      config: { outputDir: dir, batchSize: 2, gradientAccumulation: 2, learningRate: 1e-3, maxSteps: 8, warmupRatio: 0.1, saveEvery: 0, seed: 5, maxGradNorm: 1 },
      callbacks: [{ onStepEnd: () => void tensors.push(tf.memory().numTensors) }],
    });
    return { losses: res.steps.map((s) => s.loss), tensors };
  } finally {
    lora.dispose();
    lora.base.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

test("LoRA training of the shipped model: webgpu's losses match wasm's step for step, tensors stable", { skip }, async () => {
  const gpu = await loraLosses("webgpu");
  const cpu = await loraLosses("wasm");
  assert.equal(new Set(gpu.tensors.slice(1)).size, 1, `numTensors per step on webgpu: ${gpu.tensors.join(",")}`);
  const worst = Math.max(...gpu.losses.map((l, i) => Math.abs(l - cpu.losses[i]!) / cpu.losses[i]!));
  console.log(`losses webgpu ${gpu.losses.map((l) => l.toFixed(5)).join(" ")}\n       wasm   ${cpu.losses.map((l) => l.toFixed(5)).join(" ")}\n       worst relative difference ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-4, `webgpu and wasm losses differ by ${worst} (relative)`);
  assert.ok(gpu.losses.at(-1)! < gpu.losses[0]!, "the loss falls");
});
