import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";

before(async () => {
  await selectBackend("wasm");
});

/** x[begin : begin + size] of a row-major array, by index arithmetic. */
function expectedSlice(data: Float32Array, shape: number[], begin: number[], size: number[]): number[] {
  const out: number[] = [];
  const walk = (axis: number, offset: number): void => {
    if (axis === shape.length) {
      out.push(data[offset]);
      return;
    }
    const stride = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    for (let i = 0; i < size[axis]; i++) walk(axis + 1, offset + (begin[axis] + i) * stride);
  };
  walk(0, 0);
  return out;
}

function iota(shape: number[]): Float32Array {
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i + 0.5);
}

test("wasm Slice returns the right elements for every rank and layout (contiguous, strided, trailing axes whole)", () => {
  assert.equal(tf.getBackend(), "wasm");
  const cases: [number[], number[], number[]][] = [
    [[10], [3], [4]],
    [[6, 7], [2, 0], [3, 7]], // whole rows: one run
    [[6, 7], [1, 2], [4, 3]], // a block
    [[4, 5, 6], [1, 0, 0], [2, 5, 6]],
    [[4, 5, 6], [0, 1, 0], [4, 3, 6]], // trailing axis whole, middle partial
    [[4, 5, 6], [1, 2, 3], [3, 2, 2]],
    [[2, 3, 4, 5], [1, 1, 0, 2], [1, 2, 4, 3]],
    [[2, 3, 4, 5, 2], [0, 1, 1, 0, 1], [2, 2, 3, 5, 1]], // rank 5 (tfjs-wasm's generic path)
    [[3, 4], [1, 1], [0, 2]], // empty
  ];
  for (const [shape, begin, size] of cases) {
    const data = iota(shape);
    const x = tf.tensor(data, shape);
    const y = tf.slice(x, begin, size);
    assert.deepEqual(y.shape, size);
    assert.deepEqual(Array.from(y.dataSync()), expectedSlice(data, shape, begin, size), `slice ${shape} at ${begin} size ${size}`);
    tf.dispose([x, y]);
  }
  // size -1: to the end of the axis
  const x = tf.tensor(iota([3, 4]), [3, 4]);
  const y = tf.slice(x, [1, 2], [-1, -1]);
  assert.deepEqual(Array.from(y.dataSync()), [6.5, 7.5, 10.5, 11.5]);
  tf.dispose([x, y]);
});

test("wasm SplitV splits along any axis into the right parts", () => {
  const shape = [3, 4, 5];
  const data = iota(shape);
  const x = tf.tensor(data, shape);
  for (const [axis, sizes] of [[0, [1, 2]], [1, [1, 3]], [2, [2, 2, 1]], [-1, [4, 1]]] as [number, number[]][]) {
    const parts = tf.split(x, sizes, axis);
    const a = axis < 0 ? shape.length + axis : axis;
    let at = 0;
    parts.forEach((p, i) => {
      const begin = shape.map((_, j) => (j === a ? at : 0));
      const size = shape.map((n, j) => (j === a ? sizes[i] : n));
      assert.deepEqual(Array.from(p.dataSync()), expectedSlice(data, shape, begin, size), `split axis ${axis} part ${i}`);
      at += sizes[i];
    });
    tf.dispose(parts);
  }
  // equal parts by count; string tensors take tfjs-wasm's own slice
  const halves = tf.split(x, 2, 1);
  assert.deepEqual(Array.from(halves[1].dataSync()), expectedSlice(data, shape, [0, 2, 0], [3, 2, 5]));
  const s = tf.tensor(["a", "b", "c", "d"], [4]);
  const sp = tf.slice(s, [1], [3]);
  assert.deepEqual(sp.dataSync(), ["b", "c", "d"]);
  tf.dispose([x, s, sp, ...halves]);
});

test("wasm Identity shares the data: a clone outlives its source, and gradients through slices are right", () => {
  const before = tf.memory().numDataBuffers;
  const x = tf.tensor([1, 2, 3, 4], [2, 2]);
  const c = x.clone();
  assert.equal(tf.memory().numDataBuffers - before, 1);
  x.dispose();
  assert.deepEqual(Array.from(c.dataSync()), [1, 2, 3, 4]);
  c.dispose();
  assert.equal(tf.memory().numDataBuffers, before);
  // d/dw sum(split(w)[1]²) = 2·w on the second part, 0 on the first (the tape saves inputs through Identity)
  const w = tf.variable(tf.tensor([1, 2, 3, 4, 5, 6], [2, 3]));
  const { grads } = tf.variableGrads(() => tf.sum(tf.square(tf.split(w, [1, 2], 1)[1])) as tf.Scalar, [w]);
  assert.deepEqual(Array.from(grads[w.name].dataSync()), [0, 4, 6, 0, 10, 12]);
  tf.dispose([w, grads[w.name]]);
});
