import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { clipStats, surrogateLoss, tokenWeights, type LossType } from "../../src/rl/loss.js";

await selectBackend();

// TRL 1.13's GRPOTrainer._compute_loss on these inputs (tests/fixtures/rl/make_trl_reference.py).
const fx = JSON.parse(readFileSync(new URL("../fixtures/rl/trl_grpo.json", import.meta.url), "utf8")) as {
  inputs: { logps: number[][]; old: number[][]; ref: number[][]; mask: number[][]; advantages: number[] };
  loss: { loss_type: LossType; name: string; beta: number; epsilon: number; epsilon_high: number; max_completion_length: number; loss: number; grad: number[][]; metrics: Record<string, number> }[];
};
const { inputs } = fx;
const active = inputs.mask.map((r) => r.reduce((a, b) => a + b, 0));
// The trainer passes only the tokens that enter the loss, flattened completion by completion.
const flat = (m: number[][]) => m.flatMap((r, i) => r.filter((_, t) => inputs.mask[i]![t]));
const perToken = (f: (i: number) => number) => inputs.mask.flatMap((r, i) => r.filter((x) => x).map(() => f(i)));

function ours(c: (typeof fx.loss)[number]) {
  const old = c.name === "on-policy" ? undefined : tf.tensor1d(flat(inputs.old));
  const ref = c.beta ? tf.tensor1d(flat(inputs.ref)) : undefined;
  const w = tokenWeights(active, c.loss_type, c.max_completion_length);
  let ratio: number[] = [], kl: number[] = [];
  const x = tf.tensor1d(flat(inputs.logps));
  const { value, grads } = tf.valueAndGrads((lp: tf.Tensor) => {
    const r = surrogateLoss(
      { logps: lp as tf.Tensor1D, oldLogps: old, refLogps: ref, advantages: tf.tensor1d(perToken((i) => inputs.advantages[i]!)), weights: tf.tensor1d(perToken((i) => w[i]!)) },
      { epsilon: c.epsilon, epsilonHigh: c.epsilon_high, beta: c.beta },
    );
    ratio = [...r.ratio.dataSync()];
    kl = r.kl ? [...r.kl.dataSync()] : [];
    return r.loss;
  })([x]);
  const out = { loss: value.dataSync()[0]!, grad: [...grads[0]!.dataSync()], ratio, kl };
  tf.dispose([value, ...grads, x, ...(old ? [old] : []), ...(ref ? [ref] : [])]);
  return out;
}

test("the GRPO loss and its gradient per token match TRL's for grpo, dr_grpo and dapo (on-policy, old log-probs, KL)", () => {
  assert.equal(fx.loss.length, 9);
  const before = tf.memory().numTensors;
  for (const c of fx.loss) {
    const r = ours(c);
    const what = `${c.loss_type} ${c.name}`;
    assert.ok(Math.abs(r.loss - c.loss) < 1e-6, `${what}: loss ${r.loss} vs TRL ${c.loss}`);
    const trlGrad = flat(c.grad);
    assert.equal(r.grad.length, trlGrad.length);
    r.grad.forEach((g, t) => assert.ok(Math.abs(g - trlGrad[t]!) < 1e-6, `${what}: d loss / d logp[${t}] ${g} vs TRL ${trlGrad[t]}`));
    // Tokens of the masked completion get no gradient in TRL: they are not passed here at all.
    assert.deepEqual(c.grad[3], [0, 0, 0, 0, 0]);
    const clip = clipStats(r.ratio, perToken((i) => inputs.advantages[i]!), perToken(() => 1), perToken((i) => i), { epsilon: c.epsilon, epsilonHigh: c.epsilon_high });
    for (const [k, v] of Object.entries({ "clip_ratio/low_mean": clip.lowMean, "clip_ratio/high_mean": clip.highMean, "clip_ratio/region_mean": clip.regionMean, "clip_ratio/low_min": clip.lowMin, "clip_ratio/high_max": clip.highMax })) {
      assert.ok(Math.abs(v - c.metrics[k]!) < 1e-6, `${what}: ${k} ${v} vs TRL ${c.metrics[k]}`);
    }
    if (c.beta) assert.ok(Math.abs(r.kl.reduce((a, b) => a + b, 0) / r.kl.length - c.metrics.kl!) < 1e-6, `${what}: kl`);
  }
  assert.equal(tf.memory().numTensors, before);
});

test("loss_type normalisations by hand: on-policy, the loss is −Σ A over tokens, normalised three ways", () => {
  // Two completions, lengths 3 and 1, advantages +1 and −1, B = 2, max_completion_length 4; ratio = 1 everywhere.
  const run = (lossType: LossType) => {
    const w = tokenWeights([3, 1], lossType, 4);
    return tf.tidy(() => surrogateLoss({ logps: tf.tensor1d([-1, -2, -3, -4]), advantages: tf.tensor1d([1, 1, 1, -1]), weights: tf.tensor1d([w[0]!, w[0]!, w[0]!, w[1]!]) }, { epsilon: 0.2, epsilonHigh: null, beta: 0 }).loss.dataSync()[0]!);
  };
  // grpo: mean over completions of the per-completion token mean: ((−1·3)/3 + (+1)/1)/2 = 0.
  assert.ok(Math.abs(run("grpo")) < 1e-7);
  // dr_grpo: Σ / (B · max_len) = (−3 + 1) / 8 = −0.25.
  assert.ok(Math.abs(run("dr_grpo") + 0.25) < 1e-7);
  // dapo: Σ / active tokens = −2 / 4 = −0.5.
  assert.ok(Math.abs(run("dapo") + 0.5) < 1e-7);
});

test("a constant-reward group (advantage 0) contributes neither loss nor gradient", () => {
  const x = tf.tensor1d([-0.3, -1.2, -0.7]);
  const g = tf.grad((lp: tf.Tensor) => surrogateLoss({ logps: lp as tf.Tensor1D, oldLogps: tf.tensor1d([-0.1, -1.5, -0.2]), advantages: tf.zeros([3]) as tf.Tensor1D, weights: tf.fill([3], 1 / 3) as tf.Tensor1D }, { epsilon: 0.2, epsilonHigh: 0.28, beta: 0 }).loss)(x);
  assert.deepEqual([...g.dataSync()].map((v) => v + 0), [0, 0, 0]); // (+0 turns −0 into 0)
  tf.dispose([x, g]);
});

test("clipping by hand: a ratio above 1 + ε with a positive advantage stops the gradient; below 1 − ε with a negative one too", () => {
  // old = 0: ratio = exp(logp). exp(0.5) = 1.65 > 1.2 with A > 0: clipped (no gradient); exp(0.1) = 1.105 inside: gradient −A·ratio·w.
  const lp = tf.tensor1d([0.5, 0.1, -0.5, -0.5]);
  const adv = tf.tensor1d([1, 1, -1, 1]);
  const g = tf.grad((x: tf.Tensor) => surrogateLoss({ logps: x as tf.Tensor1D, oldLogps: tf.zeros([4]) as tf.Tensor1D, advantages: adv, weights: tf.ones([4]) as tf.Tensor1D }, { epsilon: 0.2, epsilonHigh: null, beta: 0 }).loss)(lp);
  const v = [...g.dataSync()];
  assert.equal(v[0], 0);
  assert.ok(Math.abs(v[1]! + Math.exp(0.1)) < 1e-6);
  // exp(−0.5) = 0.61 < 0.8 with A < 0: min(−0.61, −0.8) picks the clipped term, no gradient.
  assert.equal(v[2], 0);
  // exp(−0.5) with A > 0: min(0.61, 0.8) picks the unclipped ratio: gradient −A·ratio.
  assert.ok(Math.abs(v[3]! + Math.exp(-0.5)) < 1e-6);
  tf.dispose([lp, adv, g]);
});
