import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { AdamW, clipFactor, globalNorm, readScalar } from "../../src/train/index.js";

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

test("clipping by global norm: pre-clip norm, and AdamW scaled by max/(norm+1e-6) like torch (1 when under)", async () => {
  const grads = new Map([["a", tf.tensor1d([3, 0])], ["b", tf.tensor1d([0, 4])]]);
  const { norm, factor } = clipFactor(grads, 1);
  assert.ok(Math.abs((await readScalar(norm)) - 5) < 1e-6);
  assert.ok(Math.abs((await factor.data())[0]! - 1 / (5 + 1e-6)) < 1e-7);
  // AdamW with the factor equals AdamW on gradients scaled beforehand (torch's order).
  const make = () => new Map([["a", tf.variable(tf.tensor1d([1, 1]))], ["b", tf.variable(tf.tensor1d([2, 2]))]]);
  const [p1, p2] = [make(), make()];
  const [o1, o2] = [new AdamW(p1, { weightDecay: 0.1 }), new AdamW(p2, { weightDecay: 0.1 })];
  o1.apply(grads, 0.01, factor);
  const scaled = new Map([...grads].map(([k, g]) => [k, tf.mul(g, factor)]));
  o2.apply(scaled, 0.01);
  for (const k of ["a", "b"]) assert.deepEqual(await p1.get(k)!.data(), await p2.get(k)!.data());
  const small = new Map([["a", tf.tensor1d([0.3, 0.4])]]);
  const under = clipFactor(small, 1);
  assert.ok(Math.abs((await readScalar(under.norm)) - 0.5) < 1e-7);
  assert.equal((await under.factor.data())[0], 1);
  [o1, o2].forEach((o) => o.dispose());
  tf.dispose([...grads.values(), ...small.values(), ...scaled.values(), ...p1.values(), ...p2.values(), factor, under.factor]);
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

test("the global norm over many small and one large gradient equals the float64 norm", async () => {
  let s = 5;
  const rand = (n: number) => Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5);
  const parts = [...Array.from({ length: 40 }, (_, i) => rand(100 + i)), rand(2 ** 22 + 5), rand(7)];
  const grads = new Map(parts.map((d, i) => [String(i), tf.tensor1d(d)]));
  const expected = Math.sqrt(parts.reduce((sum, d) => sum + d.reduce((a, x) => a + x * x, 0), 0));
  const got = await readScalar(globalNorm(grads));
  assert.ok(Math.abs(got - expected) / expected < 1e-6, `${got} vs ${expected}`);
  tf.dispose([...grads.values()]);
});
