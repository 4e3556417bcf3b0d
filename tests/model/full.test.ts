import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { FullModel } from "../../src/model/full.js";
import { loraScaling, loraConfigFromPeft, peftTensorName } from "../../src/model/lora.js";
import { Qwen2Model } from "../../src/model/qwen2.js";
import { SafetensorsFile } from "../../src/model/safetensors.js";
import { linearModule, type LinearName } from "../../src/model/weights.js";
import { GOLDEN_DIR, readGolden, readGoldenLora } from "./golden.js";

await selectBackend();

/*
 * Full-parameter gradients against peft's LoRA gradients (a reference nobody on the project wrote). With
 * W' = W + s·B·A (peft's merged model), dL/dB = s · dL/dW' · Aᵀ and dL/dA = s · Bᵀ · dL/dW', so the
 * gradient of every merged linear weight, taken by full-parameter training, must reproduce both.
 */
const relErr = (got: Float32Array, ref: number[][]): number => {
  let diff = 0, scale = 0;
  ref.flat().forEach((r, i) => {
    diff = Math.max(diff, Math.abs(got[i] - r));
    scale = Math.max(scale, Math.abs(r));
  });
  return diff / scale;
};

for (const variant of ["tiny-tied", "tiny-untied"]) {
  const { input_ids, attention_mask, position_ids, labels } = readGolden(variant).inputs;
  const gl = readGoldenLora(variant);
  const input = { inputIds: input_ids, attentionMask: attention_mask, positionIds: position_ids, labels };
  const count = labels.reduce((n, r) => n + r.slice(1).filter((t) => t !== -100).length, 0);

  test(`${variant}: full-parameter gradients of peft's merged model reproduce peft's LoRA gradients`, async () => {
    const adapterDir = join(GOLDEN_DIR, variant, "lora", "adapter");
    const cfg = loraConfigFromPeft(JSON.parse(readFileSync(join(adapterDir, "adapter_config.json"), "utf8")), "adapter_config.json");
    const s = loraScaling(cfg);
    const file = await SafetensorsFile.open(join(adapterDir, "adapter_model.safetensors"));
    const full = new FullModel(await Qwen2Model.fromDirectory(join(GOLDEN_DIR, variant, "lora", "merged_model")));
    const vars = full.trainableVariables();
    const before = tf.memory().numTensors;
    for (const recompute of [false, true]) {
      const { value, grads } = tf.variableGrads(() => tf.div(full.model.sumLoss(input, { training: true, recompute }).sum, count) as tf.Scalar, [...vars.values()]);
      assert.ok(Math.abs((await value.data())[0] - gl.merged.loss) < 1e-5, `loss ${(await value.data())[0]} vs peft's merged ${gl.merged.loss}`);
      for (let l = 0; l < full.model.config.numHiddenLayers; l++) {
        for (const name of cfg.targetModules as LinearName[]) {
          const v = vars.get(`model.layers.${l}.${linearModule(name)}.${name}.weight`)!;
          const [inF, outF] = v.shape;
          const A = tf.tensor2d(await file.readF32(peftTensorName(l, name, "A")), [cfg.r, inF]);
          const B = tf.tensor2d(await file.readF32(peftTensorName(l, name, "B")), [outF, cfg.r]);
          const [gB, gA] = tf.tidy(() => {
            const G = grads[v.name].transpose() as tf.Tensor2D; // dL/dW' in HF layout [out, in]
            return [tf.matMul(G, A, false, true).mul(s), tf.matMul(B, G, true, false).mul(s)];
          });
          const eB = relErr((await gB.data()) as Float32Array, gl.grads.tensors[peftTensorName(l, name, "B")]);
          const eA = relErr((await gA.data()) as Float32Array, gl.grads.tensors[peftTensorName(l, name, "A")]);
          assert.ok(eB < 1e-4 && eA < 1e-4, `layer ${l} ${name}: relative error lora_B ${eB}, lora_A ${eA}`);
          tf.dispose([A, B, gB, gA]);
        }
      }
      tf.dispose([value, ...Object.values(grads)]);
    }
    assert.equal(tf.memory().numTensors, before, "no tensors leaked by the loss and its gradients");
    await file.close();
    full.model.dispose();
  });

  test(`${variant}: embedding, LM head, norm and bias gradients agree with central differences of the golden-checked loss`, async () => {
    const full = new FullModel(await Qwen2Model.fromDirectory(join(GOLDEN_DIR, variant, "model")));
    const vars = full.trainableVariables();
    const loss = () => tf.tidy(() => full.model.sumLoss(input, { training: false }).sum.div(count) as tf.Scalar);
    const { grads } = tf.variableGrads(() => loss(), [...vars.values()]);
    const names = ["model.embed_tokens.weight", "model.norm.weight", "model.layers.1.input_layernorm.weight", "model.layers.0.self_attn.q_proj.bias", "model.layers.1.mlp.down_proj.weight"];
    if (vars.has("lm_head.weight")) names.push("lm_head.weight");
    for (const name of names) {
      const v = vars.get(name)!;
      const g = (await grads[v.name].data()) as Float32Array;
      // The entries with the largest gradients, where a float32 central difference is meaningful.
      const top = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a])).slice(0, 3);
      for (const i of top) {
        const data = (await v.data()) as Float32Array;
        const at = async (delta: number) => {
          const d = data.slice();
          d[i] += delta;
          tf.tidy(() => v.assign(tf.tensor(d, v.shape)));
          const x = loss();
          const r = (await x.data())[0];
          x.dispose();
          return r;
        };
        const h = 1e-2;
        const numeric = ((await at(h)) - (await at(-h))) / (2 * h);
        tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
        assert.ok(Math.abs(numeric - g[i]) <= 2e-2 * Math.abs(g[i]) + 1e-4, `${name}[${i}]: analytic ${g[i]}, central difference ${numeric}`);
      }
    }
    tf.dispose(Object.values(grads));
    full.model.dispose();
  });
}
