import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { gpuDevicePresent } from "../../src/webgpu.js";

test("auto selects a working backend and says which", async () => {
  const info = await selectBackend("auto");
  assert.ok(["tensorflow", "webgpu", "wasm", "cpu"].includes(info.name));
  assert.equal(tf.getBackend(), info.name);
  const y = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]]));
  assert.equal((await y.data())[0], 11);
  y.dispose();
  // Without a GPU device Dawn is not even loaded: a software adapter would be slower than wasm.
  if (!gpuDevicePresent()) assert.ok(info.skipped.some((s) => /^webgpu: no GPU device/.test(s)), info.skipped.join("; "));
});

test("OPENR1_BACKEND applies where auto is asked for; an explicit choice wins over it", async () => {
  const saved = process.env.OPENR1_BACKEND;
  process.env.OPENR1_BACKEND = "cpu";
  try {
    assert.equal((await selectBackend("auto")).name, "cpu");
    assert.equal((await selectBackend("wasm")).name, "wasm");
  } finally {
    if (saved === undefined) delete process.env.OPENR1_BACKEND;
    else process.env.OPENR1_BACKEND = saved;
  }
});

test("an unknown backend name is a clear error", async () => {
  await assert.rejects(selectBackend("gpu" as never), /Unknown backend "gpu"/);
});
