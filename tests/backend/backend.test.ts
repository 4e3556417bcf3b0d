import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { applyEnvironment, environment, readEnvironment } from "../../src/environment.js";
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
  const saved = environment();
  applyEnvironment(readEnvironment({ OPENR1_BACKEND: "cpu" }));
  try {
    assert.equal((await selectBackend("auto")).name, "cpu");
    assert.equal((await selectBackend("wasm")).name, "wasm");
  } finally {
    applyEnvironment(saved);
  }
});

test("the environment is read into typed settings, a malformed value named", () => {
  const s = readEnvironment({ OPENR1_BACKEND: "wasm", OPENR1_ORT_THREADS: "4", OPENR1_ACTIVATION_MB: "512", OPENR1_CACHE: "/c", CI: "true" });
  assert.equal(s.backend, "wasm");
  assert.deepEqual(s.ort, { disabled: false, threads: 4, prepack: false });
  assert.deepEqual(s.execution, { activationBytes: 512 * 2 ** 20 });
  assert.equal(s.cacheDir, "/c");
  assert.equal(s.ci, true);
  assert.throws(() => readEnvironment({ OPENR1_BACKEND: "gpu" }), /OPENR1_BACKEND must be one of auto, tensorflow, webgpu, wasm, cpu, got "gpu"/);
  assert.throws(() => readEnvironment({ OPENR1_ORT_THREADS: "0" }), /OPENR1_ORT_THREADS must be a positive integer, got "0"/);
  assert.throws(() => readEnvironment({ OPENR1_ACTIVATION_MB: "lots" }), /OPENR1_ACTIVATION_MB must be a number of MiB/);
});

test("an unknown backend name is a clear error", async () => {
  await assert.rejects(selectBackend("gpu" as never), /Unknown backend "gpu"/);
});
