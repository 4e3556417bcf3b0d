import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { installOrtMatMul, uninstallOrtMatMul, ortMatMul, ortMatMulStats } from "../../src/kernels/index.js";
import { random } from "./random-data.js";

let backendName = "";
before(async () => {
  backendName = (await selectBackend()).name;
});
after(() => uninstallOrtMatMul());

/** Float64 reference of op(A)·op(B) for A [batchA, r, c], B [batchB, r, c] (batchX = 1 broadcasts). */
function reference(a: Float32Array, aS: number[], b: Float32Array, bS: number[], tA: boolean, tB: boolean): Float64Array {
  const [ba, ar, ac] = aS.length === 2 ? [1, ...aS] : aS;
  const [bb, br, bc] = bS.length === 2 ? [1, ...bS] : bS;
  const [m, k] = tA ? [ac, ar] : [ar, ac];
  const n = tB ? br : bc;
  const batch = Math.max(ba, bb);
  const out = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    const ao = (ba === 1 ? 0 : p) * ar * ac, bo = (bb === 1 ? 0 : p) * br * bc;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += a[ao + (tA ? q * ac + i : i * ac + q)] * b[bo + (tB ? j * bc + q : q * bc + j)];
        out[(p * m + i) * n + j] = s;
      }
    }
  }
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
  assert.ok(worst <= 1e-5, `${what}: worst relative error ${worst}`);
}

test("installs on the wasm and cpu backends", () => {
  assert.deepEqual(installOrtMatMul({ minFlop: 0, minRows: 0 }), ["wasm", "cpu"]);
  assert.deepEqual(installOrtMatMul({ minFlop: 0, minRows: 0 }), ["wasm", "cpu"]); // idempotent
});

const cases: Array<{ a: number[]; b: number[]; tA: boolean; tB: boolean }> = [
  { a: [7, 5], b: [5, 3], tA: false, tB: false },
  { a: [5, 7], b: [5, 3], tA: true, tB: false },
  { a: [7, 5], b: [3, 5], tA: false, tB: true },
  { a: [5, 7], b: [3, 5], tA: true, tB: true },
  { a: [4, 9, 16], b: [4, 9, 16], tA: false, tB: true }, // attention scores q·kᵀ per head
  { a: [4, 9, 16], b: [4, 9, 16], tA: true, tB: false }, // its gradient shapes
  { a: [4, 9, 16], b: [1, 16, 6], tA: false, tB: false }, // a batch of 1 broadcasts
];

for (const backend of ["active", "cpu"]) {
  for (const c of cases) {
    test(`${backend} backend: matMul [${c.a}]${c.tA ? "ᵀ" : ""}·[${c.b}]${c.tB ? "ᵀ" : ""} matches a float64 reference`, async () => {
      if (backend === "cpu") await tf.setBackend("cpu");
      try {
        installOrtMatMul({ minFlop: 0, minRows: 0 });
        const aD = random(c.a.reduce((x, y) => x * y), 11), bD = random(c.b.reduce((x, y) => x * y), 12);
        const before = tf.memory().numTensors;
        const calls = ortMatMulStats().ort;
        const y = tf.tidy(() => {
          const out = tf.matMul(tf.tensor(aD, c.a), tf.tensor(bD, c.b), c.tA, c.tB);
          return { shape: out.shape, data: out.dataSync() };
        });
        assert.equal(tf.memory().numTensors, before);
        assert.equal(ortMatMulStats().ort, calls + 1, "the product ran on ORT");
        const ref = reference(aD, c.a, bD, c.b, c.tA, c.tB);
        assertClose(y.data, ref, "product");
        const m = c.tA ? c.a.at(-1)! : c.a.at(-2)!, n = c.tB ? c.b.at(-2)! : c.b.at(-1)!;
        assert.deepEqual(y.shape, [...(c.a.length === 3 ? [c.a[0]] : []), m, n]);
      } finally {
        if (backend === "cpu") await tf.setBackend(backendName);
      }
    });
  }
}

test("rank-4 batches ([batch, heads, seq, dim]) and the gradient of a product", () => {
  installOrtMatMul({ minFlop: 0, minRows: 0 });
  const aS = [2, 3, 6, 8], bS = [2, 3, 6, 8];
  const aD = random(2 * 3 * 6 * 8, 21), bD = random(2 * 3 * 6 * 8, 22), rD = random(2 * 3 * 6 * 6, 23);
  const before = tf.memory().numTensors;
  const calls = ortMatMulStats().ort;
  const { y, da } = tf.tidy(() => {
    const a = tf.tensor(aD, aS), b = tf.tensor(bD, bS), r = tf.tensor(rD, [2, 3, 6, 6]);
    const y = tf.matMul(a, b, false, true);
    // d/da sum((a·bᵀ) ∘ r) = r·b
    const da = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, b, false, true), r)))(a);
    return { y: y.dataSync(), da: da.dataSync() };
  });
  assert.equal(tf.memory().numTensors, before);
  assert.ok(ortMatMulStats().ort >= calls + 3, "forward, and the gradient's products, ran on ORT");
  assertClose(y, reference(aD, [6, 6, 8], bD, [6, 6, 8], false, true), "product");
  assertClose(da, reference(rD, [6, 6, 6], bD, [6, 6, 8], false, false), "gradient");
});

test("ortMatMul on plain arrays, into a preallocated output; bad shapes name the problem", () => {
  const out = new Float32Array(4);
  const y = ortMatMul(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3], Float32Array.from([1, 0, 0, 1, 1, 1]), [3, 2], false, false, out);
  assert.equal(y, out);
  assert.deepEqual(Array.from(out), [4, 5, 10, 11]);
  assert.throws(() => ortMatMul(new Float32Array(6), [2, 3], new Float32Array(4), [2, 2]), /shapes \[2,3\] and \[2,2\].*do not multiply/);
});

test("products below minFlop, and untransposed ones with few rows, stay on the backend's kernel", () => {
  installOrtMatMul({ minFlop: 1e6 });
  let { ort, backend } = ortMatMulStats();
  const y = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]);
  assert.equal(y, 11);
  assert.deepEqual(ortMatMulStats(), { ort, backend: backend + 1 });

  installOrtMatMul({ minFlop: 0, minRows: 8 });
  ({ ort, backend } = ortMatMulStats());
  tf.tidy(() => {
    tf.matMul(tf.ones([4, 16]), tf.ones([16, 16])).dataSync(); // 4 rows: backend
    tf.matMul(tf.ones([4, 16]), tf.ones([16, 16]), false, true).dataSync(); // transposed: ORT
    tf.matMul(tf.ones([8, 16]), tf.ones([16, 16])).dataSync(); // 8 rows: ORT
  });
  assert.deepEqual(ortMatMulStats(), { ort: ort + 2, backend: backend + 1 });
});

test("uninstall puts the backend's own kernel back", () => {
  installOrtMatMul();
  const patched = tf.getKernel("BatchMatMul", backendName)!.kernelFunc;
  uninstallOrtMatMul();
  assert.notEqual(tf.getKernel("BatchMatMul", backendName)!.kernelFunc, patched);
  const y = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]);
  assert.equal(y, 11);
});
