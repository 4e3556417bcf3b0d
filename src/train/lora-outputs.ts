import type { LoraModel } from "../model/lora.js";
import { saveQwen2Model } from "../model/save.js";
import type { Tokenizer } from "../tokenizer/index.js";
import type { TrainerOutputs } from "./trainer.js";

/**
 * The trainer's final outputs for a LoRA model: the adapter in peft's format, and the merged model
 * (W + scaling·B·A, BF16 or F32) as an HF folder with the tokenizer files next to it.
 */
export function loraOutputs(
  lora: LoraModel,
  opts: { tokenizer?: Tokenizer; mergedDtype?: "bf16" | "f32"; baseModel?: { nameOrPath: string; revision: string | null } } = {},
): TrainerOutputs {
  return {
    saveAdapter: (dir) => lora.save(dir, { baseModelNameOrPath: opts.baseModel?.nameOrPath, revision: opts.baseModel?.revision }),
    saveMerged: (dir) => saveQwen2Model(lora.base, dir, { dtype: opts.mergedDtype === "f32" ? "F32" : "BF16", lora }),
    tokenizer: opts.tokenizer,
  };
}
