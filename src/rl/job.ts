import { existsSync } from "node:fs";
import { join } from "node:path";
import type { MathExample } from "../data/types.js";
import { FullModel } from "../model/full.js";
import { LoraModel, type LoraConfig, type TrainableParameterReport } from "../model/lora.js";
import { baseModelReference, resolveModelDir, type ModelSourceOptions } from "../model/load.js";
import { Qwen2Model } from "../model/qwen2.js";
import { saveQwen2Model } from "../model/save.js";
import { defaultTokenizerDir, loadTokenizer, type Tokenizer } from "../tokenizer/index.js";
import { loraOutputs } from "../train/lora-outputs.js";
import { checkTrainingMemory } from "../train/memory.js";
import type { RewardFunction } from "./rewards.js";
import { resolveGrpoConfig, type GrpoConfigInput } from "./settings.js";
import { trainGrpo, type GrpoCallback, type GrpoResult } from "./trainer.js";

export interface GrpoJobOptions {
  /** The problems to sample completions for (their `answer` is what the rewards check). */
  train: MathExample[];
  /** The starting policy: "tiny-math" (the shipped base model), a local HF-layout folder (e.g. an SFT run's merged model), or a Hub id. */
  model: string;
  modelOptions?: ModelSourceOptions;
  /** "lora" (default): new adapters on the frozen starting model, which is then also the KL reference; "full": every weight trains. */
  method?: "lora" | "full";
  lora?: Partial<LoraConfig>;
  /** The output folder and any other GRPO setting (src/rl/settings.ts; the rest default). */
  grpo: GrpoConfigInput;
  /** Reward functions of your own, named in grpo.rewardFuncs. */
  rewardFunctions?: Record<string, RewardFunction>;
  /** The merged (LoRA) or trained (full) model's weights on disk; default f32, so that small RL updates are not rounded away. */
  mergedDtype?: "bf16" | "f32";
  resumeFrom?: string;
  callbacks?: GrpoCallback[];
  signal?: AbortSignal;
  onReady?(info: { parameters: TrainableParameterReport; modelDir: string }): void;
}

export interface GrpoJobResult extends GrpoResult {
  parameters: TrainableParameterReport;
  /** The trained policy (adapters attached for LoRA). Dispose when done (`lora?.dispose()`, then `model.dispose()`). */
  model: Qwen2Model;
  lora?: LoraModel;
  /** What evaluation loads: the merged (LoRA) or trained (full) model in HF layout. */
  tunedDir?: string;
  tokenizer: Tokenizer;
  modelDir: string;
}

/** Model + tokenizer + LoRA (or full-parameter training) + GRPO: what `openr1 grpo`, the pipeline's RL stage and notebook 06 run. */
export async function runGrpoJob(opts: GrpoJobOptions): Promise<GrpoJobResult> {
  // A wrong setting is refused before anything is loaded.
  const grpo = resolveGrpoConfig(opts.grpo, Object.keys(opts.rewardFunctions ?? {}));
  const modelDir = await resolveModelDir(opts.model, opts.modelOptions);
  const method = opts.method ?? "lora";
  const model = await Qwen2Model.fromDirectory(modelDir, { progress: opts.modelOptions?.progress });
  let reference: Qwen2Model | undefined;
  try {
    checkTrainingMemory(model.config, method, opts.lora);
    // Full-parameter training with a KL term keeps a frozen copy of the starting model as the reference.
    if (method === "full" && grpo.beta !== 0) reference = await Qwen2Model.fromDirectory(modelDir);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const tokenizer = loadTokenizer(existsSync(join(modelDir, "tokenizer.json")) ? modelDir : defaultTokenizerDir());
  const trainable = method === "full" ? new FullModel(model) : LoraModel.create(model, opts.lora, grpo.seed);
  const parameters = trainable.trainableParameters();
  opts.onReady?.({ parameters, modelDir });
  const mergedDtype = opts.mergedDtype ?? "f32";
  try {
    const result = await trainGrpo({
      model,
      trainable,
      reference: trainable instanceof LoraModel ? "adapters-off" : reference,
      tokenizer,
      train: opts.train,
      config: grpo,
      rewardFunctions: opts.rewardFunctions,
      callbacks: opts.callbacks,
      outputs:
        trainable instanceof LoraModel
          ? loraOutputs(trainable, { tokenizer, mergedDtype, baseModel: baseModelReference(opts.model, modelDir, opts.modelOptions?.revision) })
          : { saveModel: (dir) => saveQwen2Model(model, dir, { dtype: mergedDtype === "f32" ? "F32" : "BF16" }), tokenizer },
      resumeFrom: opts.resumeFrom,
      signal: opts.signal,
    });
    const lora = trainable instanceof LoraModel ? trainable : undefined;
    return { ...result, parameters, model, lora, tunedDir: result.mergedDir ?? result.savedModelDir, tokenizer, modelDir };
  } catch (e) {
    if (trainable instanceof LoraModel) trainable.dispose();
    model.dispose();
    throw e;
  } finally {
    reference?.dispose();
  }
}
