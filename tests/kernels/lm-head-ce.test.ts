import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { LmHeadCrossEntropy, lmHeadCrossEntropyFor, ortAvailable, type WeightLayout } from "../../src/kernels/index.js";
import { random } from "./random-data.js";

before(async () => {
  await selectBackend();
});

/** Float64 cross-entropy sum and its gradient w.r.t. h, from the definition. W is [H, V] (get(k, v)). */
function reference(h: Float32Array, N: number, H: number, V: number, get: (k: number, v: number) => number, rows: number[], targets: number[]) {
  let loss = 0;
  const grad = new Float64Array(N * H);
  rows.forEach((r, i) => {
    const logits = Array.from({ length: V }, (_, v) => {
      let s = 0;
      for (let k = 0; k < H; k++) s += h[r * H + k] * get(k, v);
      return s;
    });
    const m = Math.max(...logits);
    const z = logits.reduce((a, l) => a + Math.exp(l - m), 0);
    loss += m + Math.log(z) - logits[targets[i]];
    for (let v = 0; v < V; v++) {
      const g = Math.exp(logits[v] - m) / z - (v === targets[i] ? 1 : 0);
      for (let k = 0; k < H; k++) grad[r * H + k] += g * get(k, v);
    }
  });
  return { loss, grad };
}

for (const layout of ["in,out", "out,in"] as WeightLayout[]) {
  test(`layout ${layout}: loss sum and gradient match a float64 reference, across chunks; no tensors leak`, { skip: !ortAvailable() }, () => {
    const [N, H, V] = [7, 8, 50];
    const w = random(H * V, 31);
    const get = layout === "in,out" ? (k: number, v: number) => w[k * V + v] : (k: number, v: number) => w[v * H + k];
    const hData = random(N * H, 32).map((x) => 3 * x);
    const rows = [0, 2, 3, 5, 6], targets = [1, 49, 0, 7, 7];
    const ce = new LmHeadCrossEntropy({ data: w, shape: layout === "in,out" ? [H, V] : [V, H] }, { layout });
    const ref = reference(hData, N, H, V, get, rows, targets);
    const before = tf.memory().numTensors;
    const { loss, grad } = tf.tidy(() => {
      const h = tf.tensor2d(hData, [N, H]);
      const { value, grads } = tf.valueAndGrads((hh: tf.Tensor) => tf.mul(ce.sum(hh as tf.Tensor2D, rows, targets, 2), 0.5))([h]);
      return { loss: value.dataSync()[0], grad: grads[0].dataSync() };
    });
    assert.equal(tf.memory().numTensors, before);
    assert.ok(Math.abs(loss - 0.5 * ref.loss) < 1e-5 * (1 + ref.loss), `loss ${loss} vs ${0.5 * ref.loss}`);
    let worst = 0;
    for (let i = 0; i < grad.length; i++) worst = Math.max(worst, Math.abs(grad[i] - 0.5 * ref.grad[i]));
    assert.ok(worst < 1e-5, `gradient off by ${worst}`);
    for (const r of [1, 4]) assert.ok(grad.slice(r * H, (r + 1) * H).every((g) => g === 0), "unselected rows get no gradient");
    ce.dispose();
  });
}

test("targets outside the vocabulary and mismatched shapes name the problem", { skip: !ortAvailable() }, () => {
  const ce = new LmHeadCrossEntropy({ data: new Float32Array(12), shape: [3, 4] });
  assert.throws(() => ce.chunk(new Float32Array(3), [4]), /target 4 outside \[0, 4\)/);
  assert.throws(() => tf.tidy(() => ce.sum(tf.zeros([2, 5]) as tf.Tensor2D, [0], [1])), /h is \[2,5\], expected \[N, 3\]/);
  ce.dispose();
});

test("lmHeadCrossEntropyFor caches one fused head per weight tensor", { skip: !ortAvailable() }, () => {
  const w = tf.tensor2d(random(12, 5), [3, 4]);
  const a = lmHeadCrossEntropyFor(w)!;
  assert.equal(lmHeadCrossEntropyFor(w), a);
  assert.deepEqual([a.hidden, a.vocab], [3, 4]);
  w.dispose();
  assert.equal(lmHeadCrossEntropyFor(w), null);
});
