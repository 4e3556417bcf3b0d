import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { AdamW, clipByGlobalNorm } from "../../src/train/index.js";

// torch.optim.AdamW (lr 0.01, weight_decay 0.1, betas (0.9, 0.999), eps 1e-8) worked out in float64 by hand
// for p = [0.5, -1, 2, 0] and gradients g1 = [0.1, -0.2, 0.3, 1e-3], g2 = [-0.05, 0.4, 0.3, 0].
const afterStep1 = [0.4895000009999999, -0.9890000004999999, 1.9880000003333334, -0.009999900000999989];
const afterStep2 = [0.48634713093933907, -0.9916720356541037, 1.9760120006663333, -0.016690387859447202];

test("AdamW: two steps equal torch's formula (decoupled decay, bias correction)", () => {
  const before = tf.memory().numTensors;
  const p = tf.tidy(() => tf.variable(tf.tensor1d([0.5, -1, 2, 0]), true, "adamw-test-p"));
  const params = new Map([["p", p]]);
  const opt = new AdamW(params, { weightDecay: 0.1 });
  for (const [g, expected] of [[[0.1, -0.2, 0.3, 1e-3], afterStep1], [[-0.05, 0.4, 0.3, 0], afterStep2]] as const) {
    const grad = tf.tensor1d([...g]);
    opt.apply(new Map([["p", grad]]), 0.01);
    grad.dispose();
    const got = p.dataSync();
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(got[i]! - expected[i]!) < 2e-7, `p[${i}] = ${got[i]} vs ${expected[i]}`);
  }
  assert.equal(opt.step, 2);
  opt.dispose();
  p.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("AdamW state round-trips (what a checkpoint stores)", async () => {
  const p = tf.variable(tf.tensor1d([1, 2]), true, "adamw-test-q");
  const opt = new AdamW(new Map([["q", p]]));
  const g = tf.tensor1d([0.5, -0.5]);
  opt.apply(new Map([["q", g]]), 0.1);
  const s = await opt.getState();
  const opt2 = new AdamW(new Map([["q", p]]));
  opt2.setState(s);
  assert.deepEqual(await opt2.getState(), s);
  [opt, opt2].forEach((o) => o.dispose());
  tf.dispose([p, g]);
});

test("clipping by global norm: pre-clip norm reported, scaled by max/(norm+1e-6) like torch", async () => {
  const grads = new Map([["a", tf.tensor1d([3, 0])], ["b", tf.tensor1d([0, 4])]]);
  const norm = await clipByGlobalNorm(grads, 1);
  assert.ok(Math.abs(norm - 5) < 1e-6);
  const coef = 1 / (5 + 1e-6);
  assert.ok(Math.abs(grads.get("a")!.dataSync()[0]! - 3 * coef) < 1e-7);
  assert.ok(Math.abs(grads.get("b")!.dataSync()[1]! - 4 * coef) < 1e-7);
  const small = new Map([["a", tf.tensor1d([0.3, 0.4])]]);
  assert.ok(Math.abs((await clipByGlobalNorm(small, 1)) - 0.5) < 1e-7);
  assert.deepEqual([...small.get("a")!.dataSync()].map((x) => Math.round(x * 1e6) / 1e6), [0.3, 0.4]);
  tf.dispose([...grads.values(), ...small.values()]);
});

test("AdamW updates small parameters as one vector: the same numbers as each on its own, decay groups kept apart", () => {
  const shapes: [string, number[]][] = [["a", [3, 4]], ["bias", [5]], ["b", [2, 2, 2]], ["norm", [7]], ["big", [1100, 960]]];
  const noDecay = new Set(["bias", "norm"]);
  let s = 11;
  const rand = (n: number) => Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
  const init = new Map(shapes.map(([n, shape]) => [n, rand(shape.reduce((a, b) => a * b, 1))]));
  const grads = [0, 1, 2].map(() => new Map(shapes.map(([n, shape]) => [n, rand(shape.reduce((a, b) => a * b, 1))])));
  const run = (together: boolean) => {
    const params = new Map(shapes.map(([n, shape]) => [n, tf.tidy(() => tf.variable(tf.tensor(init.get(n)!, shape)))]));
    const opts = together
      ? [new AdamW(params, { weightDecay: 0.1 }, noDecay)]
      : [...params].map(([n, p]) => new AdamW(new Map([[n, p]]), { weightDecay: 0.1 }, noDecay));
    for (const step of grads) {
      for (const opt of opts) {
        const mine = new Map([...step].map(([n, g]) => [n, tf.tensor(g, params.get(n)!.shape)]));
        opt.apply(mine, 0.01);
        tf.dispose([...mine.values()]);
      }
    }
    const out = new Map([...params].map(([n, p]) => [n, p.dataSync().slice()]));
    opts.forEach((o) => o.dispose());
    tf.dispose([...params.values()]);
    return out;
  };
  const before = tf.memory().numTensors;
  const alone = run(false), together = run(true);
  for (const [n] of shapes) {
    const x = together.get(n)!, y = alone.get(n)!;
    assert.ok(x.every((v, i) => v === y[i]), `${n} differs`);
  }
  assert.equal(tf.memory().numTensors, before, "no tensors leaked");
});
