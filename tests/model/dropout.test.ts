import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { dropout, fillDropoutMultiplier } from "../../src/model/dropout.js";

before(async () => {
  await selectBackend();
});

test("the dropout multiplier is 0 with probability rate and 1/(1 − rate) otherwise", () => {
  const n = 1_000_000;
  for (const rate of [0.05, 0.1, 0.5]) {
    const m = fillDropoutMultiplier(new Float32Array(n), rate, 7);
    const keep = Math.fround(1 / (1 - rate));
    let zeros = 0;
    for (const v of m) {
      if (v === 0) zeros++;
      else assert.equal(v, keep);
    }
    // Binomial(n, rate): within 5 standard deviations.
    const sd = Math.sqrt(n * rate * (1 - rate));
    assert.ok(Math.abs(zeros - n * rate) < 5 * sd, `rate ${rate}: ${zeros} zeros of ${n}`);
    // The mean multiplier is 1, so dropout keeps the expected activation.
    const mean = m.reduce((a, b) => a + b, 0) / n;
    assert.ok(Math.abs(mean - 1) < (5 * sd * keep) / n, `rate ${rate}: mean ${mean}`);
  }
});

test("dropout masks are a function of the seed, and masks of neighbouring seeds are independent", () => {
  const n = 200_000, rate = 0.1;
  const a = fillDropoutMultiplier(new Float32Array(n), rate, 41);
  assert.deepEqual(fillDropoutMultiplier(new Float32Array(n), rate, 41), a);
  for (const other of [42, 41 + 7, 41 * 24]) {
    const b = fillDropoutMultiplier(new Float32Array(n), rate, other);
    // Both dropped at the same place: rate² of the positions for independent masks (here 2 000 ± 220 at 5 sd).
    let both = 0;
    for (let i = 0; i < n; i++) if (a[i] === 0 && b[i] === 0) both++;
    const expected = n * rate * rate, sd = Math.sqrt(n * rate * rate * (1 - rate * rate));
    assert.ok(Math.abs(both - expected) < 5 * sd, `seeds 41 and ${other}: ${both} common zeros, expected ${expected}`);
    // and not a shifted copy: no offset up to 64 lines the zeros up
    for (let shift = 1; shift <= 64; shift++) {
      let same = 0;
      for (let i = 0; i + shift < 20_000; i++) if ((a[i + shift] === 0) === (b[i] === 0)) same++;
      assert.ok(same < 0.95 * (20_000 - shift), `seed ${other} shifted by ${shift}`);
    }
  }
});

test("dropout(x) multiplies by the mask, its gradient is dy · mask, and it leaks no tensors", async () => {
  const xs = Float32Array.from({ length: 64 * 32 }, (_, i) => (i % 13) - 6);
  const x = tf.tensor2d(xs, [64, 32]);
  const mask = fillDropoutMultiplier(new Float32Array(x.size), 0.2, 5);
  const before = tf.memory().numTensors;
  const y = dropout(x, 0.2, 5);
  assert.deepEqual(Array.from(await y.data()), Array.from(xs, (v, i) => Math.fround(v * mask[i])));
  y.dispose();
  const ws = Float32Array.from({ length: 64 * 32 }, (_, i) => i / 100);
  const w = tf.tensor2d(ws, [64, 32]);
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(dropout(t, 0.2, 5), w)))(x);
  assert.deepEqual(Array.from(await g.data()), Array.from(ws, (v, i) => Math.fround(v * mask[i])));
  tf.dispose([g, w]);
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
});
