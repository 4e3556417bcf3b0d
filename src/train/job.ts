import { existsSync } from "node:fs";
import { join } from "node:path";
import type { DatasetSplit } from "../data/types.js";
import { withCacheHint } from "../hub/index.js";
import { FullModel } from "../model/full.js";
import { LoraModel, resolveLoraConfig, type loraSettings, type TrainableParameterReport } from "../model/lora.js";
import { baseModelReference, resolveModelDir, type ModelSourceOptions } from "../model/load.js";
import { Qwen2Model } from "../model/qwen2.js";
import { ensureRandomQwen2, type RandomQwen2Options } from "../model/random.js";
import { saveQwen2Model } from "../model/save.js";
import { defaultTokenizerDir, loadTokenizer, type Tokenizer } from "../tokenizer/index.js";
import type { TrainerCallback } from "./callbacks.js";
import { tokenizeExamples, type FormatOptions, type FormatReport } from "./format.js";
import { loraOutputs } from "./lora-outputs.js";
import { checkTrainingMemory } from "./memory.js";
import { resolveTrainerConfig, resolveTrainJobSettings, type TrainerConfigInput } from "./settings.js";
import { train, type TrainResult } from "./trainer.js";
import type { z } from "zod";

/** The small random Qwen2 (real Qwen2.5 vocabulary) made on first use: the offline default model. */
export const RANDOM_SMALL_MODEL = "random-small";

export interface TrainJobOptions {
  data: DatasetSplit;
  /** "random-small", a local HF-layout directory, or a Hub repository id. */
  model?: string;
  modelOptions?: ModelSourceOptions;
  randomModel?: RandomQwen2Options;
  /** Default: the model directory's tokenizer when it has one, else the shipped Qwen2.5 tokenizer. */
  tokenizerDir?: string;
  /** "lora" (default): train adapters on the frozen model; "full": train every weight (open-r1's SFT). */
  method?: "lora" | "full";
  /** LoRA settings (method "lora"); the rest default. */
  lora?: z.input<typeof loraSettings>;
  format?: FormatOptions;
  /** The trainer's settings: outputDir and any other (src/train/settings.ts), the rest default. */
  trainer: TrainerConfigInput;
  mergedDtype?: "bf16" | "f32";
  resumeFrom?: string;
  /** Settings a resume may change from the checkpoint's (see TrainOptions.allowChanges). */
  allowChanges?: string[];
  callbacks?: TrainerCallback[];
  signal?: AbortSignal;
  /** Called once the data is formatted and the model is ready, before the first step. */
  onReady?(info: { train: FormatReport; validation: FormatReport; parameters: TrainableParameterReport; modelDir: string; tokenizerDir: string }): void;
}

export interface TrainJobResult extends TrainResult {
  formatReport: { train: FormatReport; validation: FormatReport };
  parameters: TrainableParameterReport;
  /** The trained model: the base with the adapters attached (method "lora"), or with its weights trained. Dispose when done. */
  model: Qwen2Model;
  /** The trained adapters (method "lora"). */
  lora?: LoraModel;
  /** What evaluation should load: the merged model (LoRA) or the trained model (full), in HF layout. */
  tunedDir?: string;
  tokenizer: Tokenizer;
  modelDir: string;
}

/** Model + tokenizer + formatting + LoRA (or full-parameter training) + trainer: what `openr1 train` and the pipeline run. */
export async function runTrainJob(opts: TrainJobOptions): Promise<TrainJobResult> {
  // Every setting checked (and defaulted) once, here, before the model is loaded.
  const { method, mergedDtype, ...format } = resolveTrainJobSettings({
    method: opts.method, mergedDtype: opts.mergedDtype, target: opts.format?.target, maxSeqLength: opts.format?.maxSeqLength, overLength: opts.format?.overLength,
  });
  const trainer = resolveTrainerConfig(opts.trainer);
  const loraConfig = resolveLoraConfig(opts.lora);
  const formatOptions: FormatOptions = { ...format, systemPrompt: opts.format?.systemPrompt };
  const source = opts.model ?? RANDOM_SMALL_MODEL;
  const modelDir = source === RANDOM_SMALL_MODEL ? await ensureRandomQwen2(opts.randomModel) : await resolveModelDir(source, opts.modelOptions);
  const base = await Qwen2Model.fromDirectory(modelDir).catch((e: unknown) => Promise.reject(withCacheHint(e, modelDir, opts.modelOptions)));
  try {
    checkTrainingMemory(base.config, method, loraConfig, trainer.gradientAccumulation);
  } catch (e) {
    base.dispose();
    throw e;
  }
  const tokenizerDir = opts.tokenizerDir ?? (existsSync(join(modelDir, "tokenizer.json")) ? modelDir : defaultTokenizerDir());
  const tokenizer = loadTokenizer(tokenizerDir);
  const trainSet = tokenizeExamples(opts.data.train, tokenizer, formatOptions);
  const validationSet = tokenizeExamples(opts.data.validation, tokenizer, formatOptions);
  const trainable = method === "full" ? new FullModel(base) : LoraModel.create(base, loraConfig, trainer.seed);
  const parameters = trainable.trainableParameters();
  opts.onReady?.({ train: trainSet.report, validation: validationSet.report, parameters, modelDir, tokenizerDir });
  const result = await train({
    model: trainable,
    train: trainSet.examples,
    validation: validationSet.examples,
    padTokenId: tokenizer.padTokenId,
    config: trainer,
    callbacks: opts.callbacks,
    outputs:
      trainable instanceof LoraModel
        ? loraOutputs(trainable, { tokenizer, mergedDtype, baseModel: baseModelReference(source, modelDir, opts.modelOptions?.revision) })
        : { saveModel: (dir) => saveQwen2Model(base, dir, { dtype: mergedDtype === "f32" ? "F32" : "BF16" }), tokenizer },
    resumeFrom: opts.resumeFrom,
    allowChanges: opts.allowChanges,
    signal: opts.signal,
  });
  const lora = trainable instanceof LoraModel ? trainable : undefined;
  const tunedDir = result.mergedDir ?? result.savedModelDir;
  return { ...result, formatReport: { train: trainSet.report, validation: validationSet.report }, parameters, model: base, lora, tunedDir, tokenizer, modelDir };
}
