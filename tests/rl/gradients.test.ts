import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { FullModel } from "../../src/model/full.js";
import { LoraModel } from "../../src/model/lora.js";
import { Qwen2Model } from "../../src/model/qwen2.js";
import { tokenLogProbs } from "../../src/rl/logprobs.js";
import { surrogateLoss, tokenWeights } from "../../src/rl/loss.js";

await selectBackend();

// The tiny transformers-made Qwen2 of the golden fixtures (vocab 256, 2 layers, hidden 64).
const MODEL_DIR = fileURLToPath(new URL("../fixtures/golden/tiny-tied/model", import.meta.url));

// Two sequences: a prompt, then a completion (right-padded), and where each completion token is predicted.
const ids = [[5, 17, 33, 90, 12, 7, 201], [9, 44, 3, 150, 61, 0, 0]];
const mask = [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0, 0]];
const prompt = [3, 2];
const completion = [[90, 12, 7, 201], [3, 150, 61]];
const rows: number[] = [], targets: number[] = [], seq: number[] = [];
completion.forEach((c, b) => c.forEach((t, j) => (rows.push(b * 7 + prompt[b]! - 1 + j), targets.push(t), seq.push(b))));
const T = 0.7;

/** log softmax(logits / T)[target] from the model's full logits, in float64 on the host. */
function referenceLogps(model: Qwen2Model): number[] {
  const logits = model.forward({ inputIds: ids, attentionMask: mask });
  const v = logits.dataSync() as Float32Array;
  const V = logits.shape[2];
  logits.dispose();
  return rows.map((r, i) => {
    const row = Array.from(v.subarray(r * V, (r + 1) * V), (x) => x / T);
    const m = Math.max(...row);
    return row[targets[i]!]! - m - Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
  });
}

test("per-token log-probs at temperature T equal log_softmax(logits / T) of the model's own logits, and their entropies", async () => {
  const model = await Qwen2Model.fromDirectory(MODEL_DIR);
  const ref = referenceLogps(model);
  const before = tf.memory().numTensors;
  const hidden = model.hiddenStates({ inputIds: ids, attentionMask: mask });
  const { logps, entropies } = tokenLogProbs(model, hidden, rows, targets, T, 3); // chunks of 3 rows
  const got = [...logps.dataSync()];
  assert.equal(got.length, rows.length);
  got.forEach((x, i) => assert.ok(Math.abs(x - ref[i]!) < 1e-4, `token ${i}: ${x} vs ${ref[i]}`));
  const ent = [...entropies.dataSync()];
  assert.ok(ent.every((e) => e > 0 && e <= Math.log(256) + 1e-4), "entropies lie in (0, ln V]");
  tf.dispose([hidden, logps, entropies]);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
});

/** The GRPO loss as a function of the model's weights, off-policy (old log-probs given) so that clipping takes part. */
function lossFn(model: Qwen2Model, old: number[]): () => tf.Scalar {
  const adv = seq.map((b) => (b === 0 ? 1.3 : -0.8));
  const w = tokenWeights(completion.map((c) => c.length), "grpo", 8);
  return () => {
    const hidden = model.hiddenStates({ inputIds: ids, attentionMask: mask });
    const { logps, entropies } = tokenLogProbs(model, hidden, rows, targets, T, 2);
    entropies.dispose();
    return surrogateLoss(
      { logps, oldLogps: tf.tensor1d(old), advantages: tf.tensor1d(adv), weights: tf.tensor1d(seq.map((b) => w[b]!)), refLogps: tf.tensor1d(old.map((o) => o - 0.1)) },
      { epsilon: 0.2, epsilonHigh: 0.28, beta: 0.05 },
    ).loss;
  };
}

/** Central finite differences on the `k` largest-gradient entries of each variable, against tf's gradient. */
function checkAgainstFiniteDifferences(f: () => tf.Scalar, vars: Map<string, tf.Variable>, k: number, h: number): void {
  const list = [...vars.values()];
  const { grads } = tf.variableGrads(f, list);
  for (const [name, v] of vars) {
    const g = grads[v.name]!.dataSync() as Float32Array;
    const order = [...g.keys()].sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!)).slice(0, k);
    const base = v.dataSync().slice() as Float32Array;
    for (const i of order) {
      const at = (delta: number) => {
        const x = base.slice();
        x[i] = x[i]! + delta;
        v.assign(tf.tensor(x, v.shape));
        return tf.tidy(() => f().dataSync()[0]!);
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      v.assign(tf.tensor(base, v.shape));
      assert.ok(Math.abs(fd - g[i]!) <= 0.03 * Math.abs(g[i]!) + 2e-5, `${name}[${i}]: gradient ${g[i]} vs finite difference ${fd}`);
    }
  }
  tf.dispose(Object.values(grads));
}

test("the GRPO loss's gradients w.r.t. LoRA weights match finite differences (clipping, KL, temperature, chunks)", async () => {
  const model = await Qwen2Model.fromDirectory(MODEL_DIR);
  const lora = LoraModel.create(model, { r: 4, alpha: 8, dropout: 0, targetModules: ["q_proj", "v_proj", "down_proj"] }, 7);
  // B ≠ 0, so that every adapter weight has a gradient.
  for (const v of lora.trainableVariables().values()) v.assign(tf.randomNormal(v.shape, 0, 0.05, "float32", 11));
  // Old log-probs off the current ones by ±0.5 (ratios 0.61 and 1.65, clipped where the advantage says so) or 0.02 (inside),
  // away from the clip boundaries, where the loss has kinks that finite differences straddle.
  const current = tf.tidy(() => {
    const { logps, entropies } = tokenLogProbs(model, model.hiddenStates({ inputIds: ids, attentionMask: mask }), rows, targets, T);
    entropies.dispose();
    return [...logps.dataSync()];
  });
  const old = current.map((x, i) => x + (i % 3 === 0 ? 0.5 : i % 3 === 1 ? -0.5 : 0.02));
  const some = new Map([...lora.trainableVariables()].filter(([n]) => /layers\.1\..*(q_proj|down_proj).*lora_[AB]/.test(n)));
  assert.equal(some.size, 4);
  checkAgainstFiniteDifferences(lossFn(model, old), some, 3, 1e-2);
  lora.dispose();
  model.dispose();
});

test("full-parameter training: the gradient reaches the tied embedding / LM head through the log-probs", async () => {
  const model = await Qwen2Model.fromDirectory(MODEL_DIR);
  const full = new FullModel(model);
  const old = tf.tidy(() => {
    const { logps, entropies } = tokenLogProbs(model, model.hiddenStates({ inputIds: ids, attentionMask: mask }), rows, targets, T);
    entropies.dispose();
    return [...logps.dataSync()].map((x, i) => x + (i % 2 ? 0.1 : -0.1));
  });
  const picked = new Map([...full.trainableVariables()].filter(([n]) => n === "model.embed_tokens.weight" || n === "model.layers.1.mlp.up_proj.weight"));
  assert.equal(picked.size, 2);
  checkAgainstFiniteDifferences(lossFn(model, old), picked, 3, 1e-2);
  model.dispose();
});
