import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { dataSourceFrom, prepareDataset } from "../../src/data/index.js";
import { evaluateModel, loadGenerationModel, modelGenerator, evaluate } from "../../src/eval/index.js";
import { LoraModel } from "../../src/model/index.js";

await selectBackend();

test("an adapter trained elsewhere (a PEFT folder) is evaluated on the base model it belongs to, and freed afterwards", async () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-adapter-"));
  try {
    // A PEFT LoRA folder for tiny-math, with non-zero B so that it changes the model's answers.
    const { model } = await loadGenerationModel({ model: "tiny-math" });
    const lora = LoraModel.create(model, { r: 4, alpha: 8, targetModules: ["q_proj", "v_proj"] }, 3);
    for (const v of lora.trainableVariables().values()) if (v.name.includes("lora_B") || v.shape[1] === 4) tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.5, "float32", 1)));
    await lora.save(dir, { baseModelNameOrPath: "tiny-math" });
    lora.dispose();
    model.dispose();

    const problems = (await prepareDataset(dataSourceFrom("generated"), { split: { validation: 4, seed: 1 } })).split.validation;
    const settings = { batchSize: 2, maxNewTokens: 24 };
    const before = tf.memory().numTensors;
    const withAdapter = await evaluateModel({ model: "tiny-math", adapter: dir }, problems, settings);
    assert.equal(tf.memory().numTensors, before, "model and adapter freed");
    assert.equal(withAdapter.samples.length, 4);
    const plain = await evaluateModel({ model: "tiny-math" }, problems, settings);
    assert.notDeepEqual(withAdapter.samples.map((s) => s.prediction), plain.samples.map((s) => s.prediction), "the adapter is applied");
    // The same as loading the pieces by hand.
    const loaded = await loadGenerationModel({ model: "tiny-math", adapter: dir });
    const direct = await evaluate(modelGenerator("x", loaded.model, loaded.tokenizer), problems, settings);
    loaded.dispose();
    assert.deepEqual(withAdapter.samples.map((s) => s.prediction), direct.samples.map((s) => s.prediction));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
