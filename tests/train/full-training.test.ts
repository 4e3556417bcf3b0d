import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { FullModel } from "../../src/model/full.js";
import { Qwen2Model } from "../../src/model/qwen2.js";
import { SafetensorsFile } from "../../src/model/safetensors.js";
import { saveQwen2Model } from "../../src/model/save.js";
import { accumulateGradients, collate, train, type TrainerCallback } from "../../src/train/index.js";
import { toyExamples } from "./toy-model.js";

await selectBackend();

// Full-parameter training of the tiny transformers-made Qwen2 of the golden fixtures (vocab 256, 2 layers).
const MODEL_DIR = fileURLToPath(new URL("../fixtures/golden/tiny-tied/model", import.meta.url));
const PAD = 255;
const data = toyExamples(6, 256, 3);
const config = (outputDir: string) => ({
  outputDir, batchSize: 2, gradientAccumulation: 2, learningRate: 3e-3, weightDecay: 0.1, maxSteps: 24, warmupRatio: 0.1,
  saveEvery: 8, keepCheckpoints: 2, logEvery: 4, seed: 3, maxGradNorm: 1,
});
const fresh = async () => new FullModel(await Qwen2Model.fromDirectory(MODEL_DIR));
const outputs = (full: FullModel) => ({ saveModel: (dir: string) => saveQwen2Model(full.model, dir, { dtype: "F32" }) });

test("full-parameter training: loss falls by a large factor, memory flat, decay skips biases and norms, HF model saved and reloaded", async () => {
  const dir = mkdtempSync(join(tmpdir(), "full-train-"));
  const full = await fresh();
  const norm0 = (await full.trainableVariables().get("model.norm.weight")!.data()).slice();
  const counts: number[] = [];
  const probe: TrainerCallback = { onStepEnd: () => void counts.push(tf.memory().numTensors) };
  try {
    const res = await train({ model: full, train: data, padTokenId: PAD, config: config(dir), callbacks: [probe], outputs: outputs(full) });
    const first = res.steps[0]!.loss, last = res.steps.at(-1)!.loss;
    assert.ok(last < first / 20, `loss ${first} → ${last}`);
    assert.equal(new Set(counts.slice(1)).size, 1, `numTensors per step: ${counts.join(",")}`);
    assert.notDeepEqual(await full.trainableVariables().get("model.norm.weight")!.data(), norm0, "norm weights train");
    assert.deepEqual([...full.noWeightDecay()].filter((n) => !/(\.bias|norm\.weight)$/.test(n)), []);
    assert.equal(full.noWeightDecay().size, 2 * 5 + 1, "3 biases + 2 norms per layer, and the final norm");

    assert.deepEqual(readdirSync(res.savedModelDir!).sort(), ["config.json", "generation_config.json", "model.safetensors"]);
    assert.deepEqual(readdirSync(join(dir, "checkpoint-24")).sort(), ["config.json", "generation_config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json"], "a checkpoint is a loadable HF folder plus the trainer state");
    // The saved folder has the transformers layout: HF names and [out, in] linears, tied head stored once.
    const file = await SafetensorsFile.open(join(res.savedModelDir!, "model.safetensors"));
    const reference = await SafetensorsFile.open(join(MODEL_DIR, "model.safetensors"));
    assert.deepEqual([...file.tensors.keys()].sort(), [...reference.tensors.keys()].sort());
    for (const [name, info] of reference.tensors) assert.deepEqual(file.tensors.get(name)!.shape, info.shape, name);
    await file.close();
    await reference.close();
    assert.equal(JSON.parse(readFileSync(join(res.savedModelDir!, "config.json"), "utf8")).tie_word_embeddings, true);

    const batch = collate(data, PAD);
    const trained = full.sumLoss(batch, { training: false });
    const reloaded = await Qwen2Model.fromDirectory(res.savedModelDir!);
    const again = reloaded.sumLoss(batch, { training: false }).sum;
    const [a, t] = [(await again.data())[0]!, (await trained.data())[0]!];
    assert.ok(Math.abs(a - t) <= 1e-4 * t, `reloaded ${a} vs trained ${t}`);
    tf.dispose([trained, again]);
    reloaded.dispose();
  } finally {
    full.model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("full-parameter training: resuming from a checkpoint reproduces the uninterrupted losses and weights exactly", async () => {
  const dirs = [mkdtempSync(join(tmpdir(), "full-a-")), mkdtempSync(join(tmpdir(), "full-b-"))];
  try {
    const cfg = (d: string) => ({ ...config(d), maxSteps: 10, saveEvery: 4 });
    let full = await fresh();
    const straight = await train({ model: full, train: data, padTokenId: PAD, config: cfg(dirs[0]!), outputs: outputs(full) });
    const straightWeights = await Promise.all([...full.trainableVariables().values()].map(async (v) => (await v.data()).slice()));
    full.model.dispose();
    const controller = new AbortController();
    const stop: TrainerCallback = { onStepEnd: (_l, s) => void (s.globalStep === 5 && controller.abort()) };
    full = await fresh();
    await train({ model: full, train: data, padTokenId: PAD, config: cfg(dirs[1]!), callbacks: [stop], signal: controller.signal, outputs: outputs(full) });
    full.model.dispose();
    full = await fresh();
    const resumed = await train({ model: full, train: data, padTokenId: PAD, config: cfg(dirs[1]!), resumeFrom: "latest", outputs: outputs(full) });
    assert.deepEqual(resumed.steps.map((s) => s.loss), straight.steps.slice(5).map((s) => s.loss), "resumes at the step where it was interrupted");
    assert.deepEqual(await Promise.all([...full.trainableVariables().values()].map(async (v) => (await v.data()).slice())), straightWeights, "same final weights, bit for bit");
    full.model.dispose();
  } finally {
    dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  }
});

test("full-parameter training: 3 right-padded micro-batches give the gradients of one 3-times larger batch", async () => {
  const full = await fresh();
  const examples = toyExamples(6, 256, 11);
  const micro = await accumulateGradients(full, [0, 2, 4].map((i) => collate(examples.slice(i, i + 2), PAD)), { training: false });
  const whole = await accumulateGradients(full, [collate(examples, PAD)], { training: false });
  assert.ok(Math.abs(micro.loss - whole.loss) < 1e-5 * whole.loss);
  for (const [name, g] of whole.grads) {
    const a = await micro.grads.get(name)!.data();
    const b = await g.data();
    const scale = Math.max(...Array.from(b, Math.abs));
    for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= 1e-4 * scale, `${name}[${i}]: ${a[i]} vs ${b[i]}`);
  }
  for (const g of [...micro.grads.values(), ...whole.grads.values()]) g.dispose();
  full.model.dispose();
});
