import { test, before } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { FrozenLinear, frozenLinearFor, ortMatMulStats, ortAvailable, releaseWeightCache, weightCacheSize, type KernelEngine, type WeightLayout } from "../../src/kernels/index.js";
import { random } from "./random-data.js";

before(async () => {
  await selectBackend();
});

/** Float64 reference of a[m,k]·b[k,n], with b read transposed ([n,k]) when bT. */
function matmul64(a: Float32Array, b: Float32Array, m: number, k: number, n: number, bT: boolean): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * (bT ? b[j * k + p] : b[p * n + j]);
      out[i * n + j] = s;
    }
  }
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
  assert.ok(worst <= tol, `${what}: worst relative error ${worst} > ${tol}`);
}

/** Forward and input gradient of a random layer vs a float64 reference, with a numTensors check. */
function checkAgainstReference(engine: KernelEngine, layout: WeightLayout, afterCreate = () => {}): void {
  const [rows, inF, outF] = [37, 64, 48];
  const wData = random(inF * outF, 1);
  const bData = random(outF, 2);
  const xData = random(rows * inF, 3);
  const rData = random(rows * outF, 4); // loss = sum(y * r), so dL/dy = r
  const transposed = layout === "out,in";
  const lin = new FrozenLinear({ data: wData, shape: transposed ? [outF, inF] : [inF, outF] }, { engine, layout, bias: bData });
  afterCreate();
  const yRef = matmul64(xData, wData, rows, inF, outF, transposed).map((v, i) => v + bData[i % outF]);
  // dx = r·Wᵀ, W read as stored.
  const dxRef = matmul64(rData, wData, rows, outF, inF, !transposed);

  const before = tf.memory().numTensors;
  const { y, dx, back } = tf.tidy(() => {
    const x = tf.tensor2d(xData, [rows, inF]);
    const r = tf.tensor2d(rData, [rows, outF]);
    const y = lin.apply(x).dataSync();
    const dx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(lin.apply(xx as tf.Tensor2D), r)))(x).dataSync();
    return { y, dx, back: lin.backward(r).dataSync() };
  });
  assert.equal(tf.memory().numTensors, before);
  assertClose(y, yRef, 1e-5, "forward");
  assertClose(dx, dxRef, 1e-5, "gradient");
  assertClose(back, dxRef, 1e-5, "backward()");
  lin.dispose();
}

const engines: KernelEngine[] = ortAvailable() ? ["onnxruntime", "tfjs"] : ["tfjs"];

test("onnxruntime-node loads here (the fast path is exercised, not only the fallback)", () => {
  assert.ok(ortAvailable());
});

for (const engine of engines) {
  test(`${engine}: known values with a bias`, () => {
    const w = tf.tensor2d([[1, 2, 3], [4, 5, 6]]); // [in 2, out 3]
    const lin = new FrozenLinear(w, { engine, bias: new Float32Array([0.5, -1, 2]) });
    w.dispose();
    assert.equal(lin.engine, engine);
    assert.deepEqual([lin.inFeatures, lin.outFeatures], [2, 3]);
    const y = tf.tidy(() => lin.apply(tf.tensor2d([[1, 1], [2, -1]])).arraySync());
    assert.deepEqual(y, [[5.5, 6, 11], [-1.5, -2, 2]]);
    lin.dispose();
  });

  for (const layout of ["in,out", "out,in"] as WeightLayout[]) {
    test(`${engine}, layout ${layout}: forward and input gradient match a float64 reference; no tensors leak`, () => {
      checkAgainstReference(engine, layout);
    });
  }

  test(`${engine}: batch·seq rows ([batch, seq, in] input) and gradients flowing to an upstream variable`, () => {
    const [batch, seq, inF, outF] = [2, 5, 16, 24];
    const wData = random(inF * outF, 5);
    const lin = new FrozenLinear({ data: wData, shape: [inF, outF] }, { engine });
    const v = tf.variable(tf.tensor3d(random(batch * seq * inF, 6), [batch, seq, inF]));
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => {
      const y = lin.apply(tf.mul(v, 2));
      assert.deepEqual(y.shape, [batch, seq, outF]);
      return tf.sum(y);
    });
    // d/dv sum((2v)·W) = 2 · rowsum(W) broadcast over every row.
    const rowSum = Array.from({ length: inF }, (_, i) => wData.slice(i * outF, (i + 1) * outF).reduce((a, b) => a + b, 0));
    const expected = Array.from({ length: batch * seq * inF }, (_, i) => 2 * rowSum[i % inF]);
    assertClose(grads[v.name].dataSync(), expected, 1e-5, "variable gradient");
    assert.deepEqual(Object.keys(grads), [v.name]);
    value.dispose();
    tf.dispose(grads);
    assert.equal(tf.memory().numTensors, before);
    v.dispose();
    lin.dispose();
  });

  test(`${engine}: agrees with tf.matMul on the active backend`, () => {
    const [rows, inF, outF] = [128, 96, 80];
    const w = tf.tensor2d(random(inF * outF, 7), [inF, outF]);
    const x = tf.tensor2d(random(rows * inF, 8), [rows, inF]);
    const lin = new FrozenLinear(w, { engine });
    const [ours, ref] = tf.tidy(() => [lin.apply(x).dataSync(), tf.matMul(x, w).dataSync()]);
    assertClose(ours, ref, 1e-5, "vs tf.matMul");
    tf.dispose([w, x]);
    lin.dispose();
  });
}

test("onnxruntime on the cpu backend, and through dataSync on a backend without the kernel", async () => {
  if (!ortAvailable()) return;
  const active = tf.getBackend();
  await tf.setBackend("cpu");
  try {
    checkAgainstReference("onnxruntime", "in,out");
  } finally {
    await tf.setBackend(active);
  }
  checkAgainstReference("onnxruntime", "out,in", () => tf.unregisterKernel("OrtFrozenLinear", active));
  assert.equal(tf.getKernel("OrtFrozenLinear", active), undefined);
  new FrozenLinear({ data: new Float32Array(4), shape: [2, 2] }).dispose(); // a new layer registers it again
  assert.ok(tf.getKernel("OrtFrozenLinear", active));
});

test("frozenLinearFor: one ORT layer per weight tensor, released when the tensor is disposed", () => {
  if (!ortAvailable()) return;
  releaseWeightCache();
  const w1 = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
  const w2 = tf.tensor2d([[1, 0], [0, 1], [1, 1]]);
  const a = frozenLinearFor(w1)!;
  assert.equal(frozenLinearFor(w1), a);
  const y = tf.tidy(() => a.apply(tf.tensor2d([[1, -1]])).arraySync());
  assert.deepEqual(y, [[-3, -3, -3]]);
  assert.equal(frozenLinearFor(w2, "out,in")!.inFeatures, 2); // w2 read as [out 3, in 2]
  assert.equal(frozenLinearFor(w2, "in,out")!.inFeatures, 3); // a second layer for the other layout
  assert.equal(weightCacheSize(), 3);
  w1.dispose();
  assert.equal(frozenLinearFor(w1), null);
  assert.equal(weightCacheSize(), 2);
  releaseWeightCache();
  assert.equal(weightCacheSize(), 0);
  w2.dispose();
});

test("products under minFlop use the tfjs weight (forward and gradient stay correct on both routes)", { skip: !ortAvailable() }, () => {
  const [inF, outF] = [16, 24];
  const wData = random(inF * outF, 41);
  const w = tf.tensor2d(wData, [inF, outF]);
  const lin = new FrozenLinear(w, { tfjsWeight: w, minFlop: 2 * 8 * inF * outF });
  for (const rows of [3, 40]) {
    const xData = random(rows * inF, 42 + rows), rData = random(rows * outF, 43 + rows);
    const before = ortMatMulStats().backend;
    const { y, dx } = tf.tidy(() => {
      const x = tf.tensor2d(xData, [rows, inF]), r = tf.tensor2d(rData, [rows, outF]);
      return { y: lin.apply(x).dataSync(), dx: tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(lin.apply(xx as tf.Tensor2D), r)))(x).dataSync() };
    });
    assert.equal(ortMatMulStats().backend > before, rows === 3, `rows ${rows}: tfjs route taken iff under minFlop`);
    assertClose(y, matmul64(xData, wData, rows, inF, outF, false), 1e-5, `forward, ${rows} rows`);
    assertClose(dx, matmul64(rData, wData, rows, outF, inF, true), 1e-5, `gradient, ${rows} rows`);
  }
  assert.throws(() => new FrozenLinear(w, { tfjsWeight: w, bias: new Float32Array(outF) }), /cannot be combined with a bias/);
  lin.dispose();
  w.dispose();
});

test("a LazyWeight is loaded per session: few-row products on the prepacked forward session, others and gradients on the main one", () => {
  for (const engine of engines) {
    for (const layout of ["in,out", "out,in"] as WeightLayout[]) {
      const [inF, outF] = [24, 40];
      const wData = random(inF * outF, 51), bData = random(outF, 52);
      const transposed = layout === "out,in";
      let loads = 0;
      const lin = new FrozenLinear(
        { shape: transposed ? [outF, inF] : [inF, outF], load: () => (loads++, { data: wData, bias: bData }) },
        { engine, layout, packedMaxRows: 4 },
      );
      assert.equal(loads, engine === "tfjs" ? 1 : 0, `${engine}: loaded when first needed`);
      for (const rows of [1, 4, 5, 33]) {
        const xData = random(rows * inF, 53 + rows), rData = random(rows * outF, 54 + rows);
        const { y, dx } = tf.tidy(() => {
          const x = tf.tensor2d(xData, [rows, inF]), r = tf.tensor2d(rData, [rows, outF]);
          return { y: lin.apply(x).dataSync(), dx: tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(lin.apply(xx as tf.Tensor2D), r)))(x).dataSync() };
        });
        assertClose(y, matmul64(xData, wData, rows, inF, outF, transposed).map((v, i) => v + bData[i % outF]), 1e-5, `${engine} ${layout}: forward, ${rows} rows`);
        assertClose(dx, matmul64(rData, wData, rows, outF, inF, !transposed), 1e-5, `${engine} ${layout}: gradient, ${rows} rows`);
      }
      // onnxruntime: the main session (gradient of the first product) and the packed one, once each.
      assert.equal(loads, engine === "tfjs" ? 1 : 2);
      lin.dispose();
    }
  }
  assert.throws(() => new FrozenLinear({ shape: [2, 2], load: () => ({ data: new Float32Array(4) }) }, { engine: engines[0], bias: new Float32Array(2) }), /bias comes from its load/);
});

test("bad input names the problem", () => {
  const lin = new FrozenLinear({ data: new Float32Array(6), shape: [2, 3] });
  assert.throws(() => tf.tidy(() => lin.apply(tf.zeros([4, 3]))), /last dimension is 3, expected 2/);
  assert.throws(() => new FrozenLinear({ data: new Float32Array(6), shape: [2, 3] }, { bias: new Float32Array(2) }), /bias must have 3 elements/);
  lin.dispose();
});

test("without onnxruntime (OPENR1_ORT=0) it falls back to tfjs and stays correct", () => {
  const index = fileURLToPath(new URL("../../src/kernels/index.ts", import.meta.url));
  const environmentModule = fileURLToPath(new URL("../../src/environment.ts", import.meta.url));
  // (a process of its own, applying its environment as an entry point does)
  const script = `
    import * as tf from "@tensorflow/tfjs";
    import { applyEnvironment, readEnvironment } from ${JSON.stringify(environmentModule)};
    applyEnvironment(readEnvironment(process.env));
    const { FrozenLinear, ortAvailable, ortUnavailableReason } = await import(${JSON.stringify(index)});
    const lin = new FrozenLinear(tf.tensor2d([[1, 2], [3, 4]]));
    const y = lin.apply(tf.tensor2d([[1, 1]])).arraySync();
    console.log(JSON.stringify({ available: ortAvailable(), reason: ortUnavailableReason(), engine: lin.engine, y }));
  `;
  const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    env: { ...process.env, OPENR1_ORT: "0" },
    encoding: "utf8",
  });
  const result = JSON.parse(out.trim().split("\n").pop()!);
  assert.deepEqual(result, { available: false, reason: "disabled by OPENR1_ORT=0", engine: "tfjs", y: [[4, 6]] });
});
