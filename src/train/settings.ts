/**
 * The training settings, defined once (see src/settings.ts): the trainer's (`train()`'s config) and the job's (what
 * to train and on which text: method, format, merged dtype). Their defaults are the embedded default's (`npm
 * start`): `openr1 train`, `openr1 run` and `train()` start from the same values.
 */
import { z } from "zod";
import { flag, integer, integerOrNull, oneOf, parseSettings, real, seedSetting, text } from "../settings.js";
import { SCHEDULE_KINDS } from "./schedule.js";

/** Fewer completion tokens than this after truncation is not worth training on: the example is dropped. */
export const MIN_COMPLETION_TOKENS = 16;

export const trainerSettings = z.strictObject({
  outputDir: text().describe("checkpoints (checkpoint-<step>/) and the final outputs (adapter/ and merged/, or model/) go here"),
  seed: seedSetting,
  batchSize: integer({ min: 1 }).default(8).describe("examples per micro-batch"),
  gradientAccumulation: integer({ min: 1 }).default(1).describe("micro-batches per optimizer step"),
  learningRate: real({ gt: 0 }).default(2e-3).describe("peak learning rate"),
  weightDecay: real({ min: 0 }).default(0).describe("AdamW's decoupled weight decay"),
  beta1: real({ min: 0, lt: 1 }).default(0.9).describe("AdamW's β1"),
  beta2: real({ min: 0, lt: 1 }).default(0.999).describe("AdamW's β2"),
  eps: real({ gt: 0 }).default(1e-8).describe("AdamW's ε"),
  warmupRatio: real({ min: 0, max: 1 }).default(0.1).describe("warmup steps = ceil(warmupRatio × steps), as transformers"),
  schedule: oneOf(SCHEDULE_KINDS).default("cosine").describe("after warmup: cosine (down to minLrRatio × the peak), linear (down to 0) or constant"),
  minLrRatio: real({ min: 0, max: 1 }).default(0.1).describe("cosine's floor as a fraction of the peak (transformers' min_lr_rate)"),
  maxGradNorm: real({ min: 0 }).default(1).describe("clip gradients to this global norm; 0: no clipping (the norm is still logged), as transformers"),
  epochs: real({ gt: 0 }).default(1).describe("passes over the training examples, when maxSteps is null"),
  maxSteps: integerOrNull({ min: 1 }).default(120).describe("optimizer steps; null: as many as epochs take"),
  logEvery: integer({ min: 1 }).default(5).describe("log the mean loss every N steps (and at the last)"),
  evalEvery: integer({ min: 0 }).default(20).describe("validation loss every N steps and at the end; 0: at the end only"),
  evalOnStart: flag().default(true).describe("also the validation loss before the first step: the base model's (transformers' eval_on_start)"),
  evalBatchSize: integer({ min: 1 }).default(4).describe("examples per batch of the validation loss"),
  saveEvery: integer({ min: 0 }).default(40).describe("checkpoint every N steps, at the end and on an interruption; 0: never (an interrupted run then starts over)"),
  keepCheckpoints: integer({ min: 1 }).default(2).describe("the newest checkpoints kept; older ones are deleted"),
  padToMultipleOf: integer({ min: 1 }).default(1).describe("pad each batch's length to a multiple of this"),
});

/** What the trainer needs: every trainer setting, defaults filled in. */
export type TrainerConfig = z.output<typeof trainerSettings>;
/** What `train()` takes: the output folder and any other trainer setting (the rest default). */
export type TrainerConfigInput = z.input<typeof trainerSettings>;

export const TRAINER_KEYS = Object.keys(trainerSettings.shape) as (keyof TrainerConfig)[];

/**
 * Where the run writes and how often it logs, evaluates and saves: the trainer settings that do not change which
 * updates the steps make, so a resume may change them. Every other trainer setting is the run's trajectory,
 * recorded in each checkpoint and compared on a resume.
 */
export const RUN_POLICY_KEYS = ["outputDir", "logEvery", "evalEvery", "evalOnStart", "evalBatchSize", "saveEvery", "keepCheckpoints"] as const satisfies readonly (keyof TrainerConfig)[];

export const TRAJECTORY_KEYS = TRAINER_KEYS.filter((k) => !(RUN_POLICY_KEYS as readonly string[]).includes(k));

/** Fills in the defaults and checks every value; unknown keys (another stage's settings) are refused by name. */
export function resolveTrainerConfig(config: TrainerConfigInput, source = "Trainer config"): TrainerConfig {
  return parseSettings(trainerSettings, config, source);
}

/** What is trained and on which text: the job's settings around the trainer's. */
export const trainJobSettings = z.strictObject({
  method: oneOf(["lora", "full"]).default("lora").describe("lora: adapters on the frozen model; full: every weight trains"),
  target: oneOf(["solution", "reasoning"]).default("solution").describe("the assistant turn: the reference solution or the verified reasoning trace"),
  maxSeqLength: integer({ min: MIN_COMPLETION_TOKENS }).default(256).describe("tokens per example, prompt and answer"),
  overLength: oneOf(["truncate", "drop"]).default("truncate").describe("a longer example: truncate (the prompt and the answer's start and end kept) or drop"),
  mergedDtype: oneOf(["bf16", "f32"]).default("bf16").describe("weights of the merged (or fully trained) model saved at the end"),
});

export type TrainJobSettings = z.output<typeof trainJobSettings>;

export function resolveTrainJobSettings(settings: z.input<typeof trainJobSettings>, source = "Training job"): TrainJobSettings {
  return parseSettings(trainJobSettings, settings, source);
}

/** The formatting settings (src/train/format.ts). */
export const formatSettings = trainJobSettings.pick({ target: true, maxSeqLength: true, overLength: true });
