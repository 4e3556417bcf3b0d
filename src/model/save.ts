import { copyFile, mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { configForSaving } from "./config.js";
import type { LoraModel } from "./lora.js";
import type { Qwen2Model } from "./qwen2.js";
import { writeSafetensors } from "./safetensors.js";
import { writeJsonAtomic } from "../files/atomic.js";
import { exportHfTensors, LINEAR_NAMES, linearModule, transposeF32 } from "./weights.js";

export interface SaveModelOptions {
  /** Weight dtype on disk (default BF16, as Qwen2.5 is published). */
  dtype?: "BF16" | "F32";
  /** Adapters to merge into the saved weights (W + scaling·B·A); the model in memory is left unchanged. */
  lora?: LoraModel;
  /** Extra files copied next to the weights, e.g. the tokenizer's tokenizer.json and tokenizer_config.json. */
  copyFiles?: string[];
}

/**
 * Saves a Qwen2 model as a Hugging Face folder that transformers' from_pretrained loads:
 * config.json, generation_config.json and model.safetensors (tied models store only embed_tokens).
 */
export async function saveQwen2Model(model: Qwen2Model, dir: string, opts: SaveModelOptions = {}): Promise<void> {
  const dtype = opts.dtype ?? "BF16";
  await mkdir(dir, { recursive: true });
  const tensors = await exportHfTensors(model.weights, model.config);
  if (opts.lora) {
    if (opts.lora.base !== model) throw new Error("saveQwen2Model: the adapters belong to another model");
    for (let l = 0; l < model.config.numHiddenLayers; l++) {
      for (const name of LINEAR_NAMES) {
        const delta = opts.lora.deltaT(l, name);
        if (!delta) continue;
        const [inF, outF] = delta.shape;
        const d = transposeF32((await delta.data()) as Float32Array, inF, outF);
        delta.dispose();
        const w = tensors.get(`model.layers.${l}.${linearModule(name)}.${name}.weight`)!.data;
        for (let i = 0; i < w.length; i++) w[i] += d[i];
      }
    }
  }
  await writeSafetensors(join(dir, "model.safetensors"), tensors, { dtype, metadata: { format: "pt" } });
  writeJsonAtomic(join(dir, "config.json"), configForSaving(model.config, dtype === "BF16" ? "bfloat16" : "float32"));
  const c = model.config;
  const generationConfig = model.generationConfig ?? {
    ...(c.bosTokenId !== null ? { bos_token_id: c.bosTokenId } : {}),
    ...(c.eosTokenId !== null ? { eos_token_id: c.eosTokenId } : {}),
  };
  writeJsonAtomic(join(dir, "generation_config.json"), generationConfig);
  for (const f of opts.copyFiles ?? []) await copyFile(f, join(dir, basename(f)));
}
