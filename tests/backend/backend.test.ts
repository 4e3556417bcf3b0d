import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";

test("auto selects a working backend and says which", async () => {
  const info = await selectBackend("auto");
  assert.ok(["tensorflow", "wasm", "cpu"].includes(info.name));
  assert.equal(tf.getBackend(), info.name);
  const y = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0]);
  assert.equal(y, 11);
});

test("an unknown backend name is a clear error", async () => {
  await assert.rejects(selectBackend("gpu" as never), /Unknown backend "gpu"/);
});
