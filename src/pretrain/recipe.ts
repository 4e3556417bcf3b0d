import type { TrainerConfig } from "../train/trainer.js";

/** Everything that determines a pretrained model: rerunning a recipe reproduces it. */
export interface PretrainRecipe {
  /** The model's folder name under src/assets/models/ when shipped. */
  name: string;
  /** Seeds the corpus, the initial weights and the data order. */
  seed: number;
  /** Qwen2 sizes (the vocabulary is the corpus's, trimmed; see src/tokenizer/vocab-map.ts). */
  model: { hidden: number; layers: number; heads: number; kvHeads: number; intermediate: number };
  /** Documents made from the "pretrain" pool of generated problems; the first `validationDocuments` are held out. */
  corpus: { documents: number; validationDocuments: number; chatFraction: number };
  /** Tokens per packed row. */
  seqLength: number;
  trainer: Pick<
    TrainerConfig,
    | "batchSize" | "gradientAccumulation" | "learningRate" | "weightDecay" | "beta1" | "beta2" | "warmupRatio" | "schedule"
    | "minLrRatio" | "maxGradNorm" | "maxSteps" | "logEvery" | "evalEvery" | "evalBatchSize" | "saveEvery" | "keepCheckpoints"
  >;
  /** The accuracy check recorded in the provenance: greedy answers to generated (fine-tuning pool) problems. */
  check: { problems: number; seed: number; maxNewTokens: number };
}

/**
 * The recipe of the shipped model (src/assets/models/qwen2-tiny-math): 1.7M parameters, ~10M tokens
 * (5,000 steps of 8 × 256), about an hour on two CPU cores. Sizes and step count were chosen by
 * measurement (docs/tiny-math-model.md): a 256-wide model trains at half the tokens/s, and at 2,400 steps
 * this one had learnt to copy numbers but not yet to add them.
 */
export const TINY_MATH_RECIPE: PretrainRecipe = {
  name: "qwen2-tiny-math",
  seed: 1234,
  model: { hidden: 192, layers: 4, heads: 6, kvHeads: 2, intermediate: 512 },
  corpus: { documents: 150_000, validationDocuments: 400, chatFraction: 0.25 },
  seqLength: 256,
  trainer: {
    batchSize: 8, gradientAccumulation: 1, learningRate: 2e-3, weightDecay: 0.1, beta1: 0.9, beta2: 0.95,
    warmupRatio: 0.03, schedule: "cosine", minLrRatio: 0.1, maxGradNorm: 1, maxSteps: 5000,
    logEvery: 20, evalEvery: 250, evalBatchSize: 8, saveEvery: 250, keepCheckpoints: 3,
  },
  check: { problems: 200, seed: 777, maxNewTokens: 48 },
};
