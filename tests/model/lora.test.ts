import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { Qwen2Model } from "../../src/model/qwen2.js";
import { LoraModel, loraConfigFromPeft } from "../../src/model/lora.js";
import { saveQwen2Model } from "../../src/model/save.js";
import { SafetensorsFile } from "../../src/model/safetensors.js";
import { GOLDEN_DIR, maxDiffMasked, readGolden, readGoldenLora } from "./golden.js";

await selectBackend();

for (const variant of ["tiny-tied", "tiny-untied"]) {
  const base = readGolden(variant);
  const gl = readGoldenLora(variant);
  const { input_ids, attention_mask, position_ids, labels } = base.inputs;
  const input = { inputIds: input_ids, attentionMask: attention_mask, positionIds: position_ids, labels };
  const load = async () => {
    const model = await Qwen2Model.fromDirectory(join(GOLDEN_DIR, variant, "model"));
    return { model, lora: await LoraModel.load(model, join(GOLDEN_DIR, variant, "lora", "adapter")) };
  };

  test(`${variant}: the peft adapter reproduces peft's logits, loss and LoRA gradients`, async () => {
    const { model, lora } = await load();
    const before = tf.memory().numTensors;
    const logits = model.forward(input);
    assert.ok(maxDiffMasked((await logits.array()) as number[][][], gl.forward.logits, attention_mask) < 1e-4);
    logits.dispose();

    const vars = lora.trainableVariables();
    assert.deepEqual([...vars.keys()].sort(), Object.keys(gl.grads.tensors).sort());
    const count = labels.reduce((n, r) => n + r.slice(1).filter((t) => t !== -100).length, 0);
    // Training recomputes each layer in the backward pass (checkpointing); check it and the plain tape.
    // …and a loss split into chunks of 5 rows (the real vocabulary always takes several chunks).
    for (const [recompute, lossChunkRows] of [[true, undefined], [false, undefined], [true, 5]] as const) {
    const { value, grads } = tf.variableGrads(() => tf.div(model.sumLoss(input, { training: true, recompute, lossChunkRows }).sum, count) as tf.Scalar, [...vars.values()]);
    assert.ok(Math.abs((await value.data())[0] - gl.forward.loss) < 1e-5, "loss within 1e-5");
    for (const [name, v] of vars) {
      const got = (await grads[v.name].array()) as number[][];
      const ref = gl.grads.tensors[name];
      let diff = 0, scale = 0;
      ref.forEach((row, i) => row.forEach((r, j) => {
        diff = Math.max(diff, Math.abs(got[i][j] - r));
        scale = Math.max(scale, Math.abs(r));
      }));
      assert.ok(diff / scale < 1e-4, `${name}: relative gradient error ${diff / scale}`);
    }
    tf.dispose([value, ...Object.values(grads)]);
    }
    assert.equal(tf.memory().numTensors, before, "no tensors leaked by the loss and its gradients");
    lora.dispose();
    model.dispose();
  });

  test(`${variant}: merged weights give peft's merged logits, in memory and saved as an HF folder`, async () => {
    const dir = await mkdtemp(join(tmpdir(), "openr1-merged-"));
    try {
      const { model, lora } = await load();
      await saveQwen2Model(model, dir, { dtype: "F32", lora });
      const merged = lora.mergeAndUnload();
      assert.equal(merged.adapters.size, 0);
      const logits = merged.forward(input);
      assert.ok(maxDiffMasked((await logits.array()) as number[][][], gl.merged.logits, attention_mask) < 1e-4);
      logits.dispose();
      merged.dispose();

      const ref = await SafetensorsFile.open(join(GOLDEN_DIR, variant, "lora", "merged_model", "model.safetensors"));
      const ours = await SafetensorsFile.open(join(dir, "model.safetensors"));
      assert.deepEqual([...ours.tensors.keys()].sort(), [...ref.tensors.keys()].sort());
      for (const [k, info] of ref.tensors) assert.deepEqual(ours.tensors.get(k)!.shape, info.shape, k);
      await Promise.all([ref.close(), ours.close()]);
      assert.deepEqual((await readdir(dir)).sort(), ["config.json", "generation_config.json", "model.safetensors"]);
      const cfg = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
      const refCfg = JSON.parse(await readFile(join(GOLDEN_DIR, variant, "lora", "merged_model", "config.json"), "utf8"));
      assert.deepEqual(Object.keys(cfg).filter((k) => k !== "_name_or_path").sort(), Object.keys(refCfg).filter((k) => k !== "_name_or_path").sort());

      const reloaded = await Qwen2Model.fromDirectory(dir);
      const l2 = reloaded.forward(input);
      assert.ok(maxDiffMasked((await l2.array()) as number[][][], gl.merged.logits, attention_mask) < 1e-4);
      l2.dispose();
      reloaded.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test(`${variant}: a saved adapter has peft's file names, tensor names, shapes and config keys`, async () => {
    const dir = await mkdtemp(join(tmpdir(), "openr1-adapter-"));
    try {
      const { model, lora } = await load();
      await lora.save(dir, { baseModelNameOrPath: `${variant}/model` });
      const refDir = join(GOLDEN_DIR, variant, "lora", "adapter");
      assert.deepEqual((await readdir(dir)).sort(), ["adapter_config.json", "adapter_model.safetensors"]);
      const cfg = JSON.parse(await readFile(join(dir, "adapter_config.json"), "utf8"));
      const refCfg = JSON.parse(await readFile(join(refDir, "adapter_config.json"), "utf8"));
      assert.deepEqual(Object.keys(cfg).sort(), Object.keys(refCfg).sort());
      for (const k of ["r", "lora_alpha", "lora_dropout", "peft_type", "task_type", "bias", "use_rslora", "use_dora"]) assert.deepEqual(cfg[k], refCfg[k], k);
      assert.deepEqual([...cfg.target_modules].sort(), [...refCfg.target_modules].sort());
      const ref = await SafetensorsFile.open(join(refDir, "adapter_model.safetensors"));
      const ours = await SafetensorsFile.open(join(dir, "adapter_model.safetensors"));
      assert.deepEqual([...ours.tensors.keys()].sort(), [...ref.tensors.keys()].sort());
      for (const [k, info] of ref.tensors) {
        assert.deepEqual(ours.tensors.get(k)!.shape, info.shape, k);
        assert.deepEqual(await ours.readF32(k), await ref.readF32(k), k);
      }
      await Promise.all([ref.close(), ours.close()]);
      const bytes = await readFile(join(dir, "adapter_model.safetensors"));
      assert.ok(bytes.equals(await readFile(join(refDir, "adapter_model.safetensors"))), "byte-identical to peft's file");
      lora.dispose();
      model.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test("new adapters: peft's initialisation, only adapters trainable, peft's parameter report", async () => {
  const model = await Qwen2Model.fromDirectory(join(GOLDEN_DIR, "tiny-tied", "model"));
  const g = readGolden("tiny-tied");
  const withoutAdapters = tf.memory().numTensors;
  const lora = LoraModel.create(model, { r: 8, alpha: 16, dropout: 0.1 }, 42);
  const vars = lora.trainableVariables();
  assert.equal(tf.memory().numTensors, withoutAdapters + vars.size, "only the adapter variables: their initial values are not kept");
  assert.equal(vars.size, 2 * 7 * 2);
  const a = vars.get("base_model.model.model.layers.0.mlp.down_proj.lora_A.weight")!;
  assert.deepEqual(a.shape, [8, 128]);
  const av = (await a.data()) as Float32Array;
  const bound = 1 / Math.sqrt(128);
  assert.ok(av.every((x) => Math.abs(x) <= bound) && Math.max(...av.map(Math.abs)) > 0.9 * bound, "A ~ U(±1/sqrt(in))");
  assert.ok(((await vars.get("base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight")!.data()) as Float32Array).every((x) => x === 0));
  // B = 0: the adapted model computes exactly the base model.
  const logits = model.forward({ inputIds: g.inputs.input_ids, attentionMask: g.inputs.attention_mask });
  assert.ok(maxDiffMasked((await logits.array()) as number[][][], g.forward.logits, g.inputs.attention_mask) < 1e-4);
  logits.dispose();
  // H=64, I=128, kv=32, r=8, 2 layers: q 8·(64+64), k 8·(64+32), v same, o 8·128, gate/up 8·(64+128), down 8·(128+64).
  const perLayer = 8 * (128 + 96 + 96 + 128 + 192 * 3);
  const total = 256 * 64 + 2 * (64 * 64 + 64 + 2 * (32 * 64 + 32) + 64 * 64 + 3 * 128 * 64 + 2 * 64) + 64;
  const report = lora.trainableParameters();
  assert.equal(report.trainable, 2 * perLayer);
  assert.equal(report.total, total + 2 * perLayer);
  assert.equal(report.text, `trainable params: ${(2 * perLayer).toLocaleString("en-US")} || all params: ${(total + 2 * perLayer).toLocaleString("en-US")} || trainable%: ${((100 * 2 * perLayer) / (total + 2 * perLayer)).toFixed(4)}`);
  // Dropout draws seeded masks: same seed, same loss; training differs from eval.
  const batch = { inputIds: g.inputs.input_ids, attentionMask: g.inputs.attention_mask, labels: g.inputs.labels };
  tf.tidy(() => vars.get("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight")!.assign(tf.fill([64, 8], 0.5)));
  const l1 = lora.sumLoss(batch, { training: true, seed: 3 });
  const l2 = lora.sumLoss(batch, { training: true, seed: 3 });
  const l3 = lora.sumLoss(batch, { training: false });
  const [v1, v2, v3] = [(await l1.data())[0], (await l2.data())[0], (await l3.data())[0]];
  assert.equal(v1, v2);
  assert.notEqual(v1, v3);
  tf.dispose([l1, l2, l3]);
  lora.dispose();
  model.dispose();
});

test("adapter configs this implementation cannot honour are refused with the reason", async () => {
  const ref = JSON.parse(await readFile(join(GOLDEN_DIR, "tiny-tied", "lora", "adapter", "adapter_config.json"), "utf8"));
  assert.deepEqual(loraConfigFromPeft(ref, "a.json"), { r: 4, alpha: 8, dropout: 0, targetModules: ["q_proj", "k_proj", "v_proj", "o_proj"], useRslora: false });
  assert.throws(() => loraConfigFromPeft({ ...ref, target_modules: ["q_proj", "lm_head"] }, "a.json"), /a\.json: target module\(s\) lm_head not supported/);
  assert.throws(() => loraConfigFromPeft({ ...ref, target_modules: "q_proj|v_proj" }, "a.json"), /regex/);
  assert.throws(() => loraConfigFromPeft({ ...ref, use_dora: true }, "a.json"), /DoRA/);
  assert.throws(() => loraConfigFromPeft({ ...ref, peft_type: "IA3" }, "a.json"), /peft_type/);
  assert.throws(() => loraConfigFromPeft({ ...ref, modules_to_save: ["lm_head"] }, "a.json"), /modules_to_save/);
});
