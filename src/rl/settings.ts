/**
 * The GRPO settings, defined once (see src/settings.ts): `trainGrpo()`'s config, `openr1 grpo`'s options and the
 * pipeline's `rl` section. Their defaults are the embedded default's RL stage (`npm start`): `openr1 grpo`, `openr1
 * run` and `trainGrpo()` start from the same values. A few settings only the library takes (the sampler's top-k, the
 * system turn, AdamW's moments, the cosine floor, the logged sample table) keep TRL's defaults.
 */
import { z } from "zod";
import { OPEN_R1_SYSTEM_PROMPT } from "../data/prompt.js";
import { flag, integer, listOf, oneOf, parseSettings, real, realListOrNull, realOrNull, seedSetting, text, textOrNull } from "../settings.js";
import { SCHEDULE_KINDS } from "../train/schedule.js";
import { LOSS_TYPES } from "./loss.js";
import { REWARD_FUNCS } from "./rewards.js";

/** The reward functions by name: open-r1's, and `custom` (the caller's own, trainGrpo's rewardFunctions). */
function rewardFuncsSetting(custom: readonly string[] = []) {
  const names = [...new Set([...REWARD_FUNCS, ...custom])] as [string, ...string[]];
  return listOf(names)
    .refine((xs) => new Set(xs).size === xs.length, { error: "must be a list naming each reward function once" })
    .default(["accuracy"])
    .describe("the reward functions, open-r1's names (src/rl/rewards.ts): each completion's reward is their weighted sum");
}

export const grpoSettings = z.strictObject({
  outputDir: text().describe("checkpoints (checkpoint-<step>/) and the final adapter and merged (or trained) model go here"),
  seed: seedSetting,
  numGenerations: integer({ min: 2 }).default(8).describe("G: completions sampled per prompt, a group (TRL num_generations; a group of one has no relative advantage)"),
  promptsPerStep: integer({ min: 1 }).default(8).describe("prompts per generation batch (TRL generation_batch_size / num_generations)"),
  maxCompletionLength: integer({ min: 1 }).default(64).describe("new tokens per completion at most (TRL max_completion_length)"),
  temperature: real({ gt: 0 }).default(1).describe("sampling temperature; log-probs are taken at the same temperature"),
  topP: real({ gt: 0, max: 1 }).default(1).describe("nucleus sampling: the smallest set of tokens with this much probability"),
  topK: integer({ min: 0 }).default(0).describe("sample among the K likeliest tokens; 0: all"),
  microBatchSize: integer({ min: 1 }).default(32).describe("completions per forward/backward pass (does not change the loss)"),
  numIterations: integer({ min: 1 }).default(1).describe("μ: optimizer steps per generation batch (TRL num_iterations)"),
  epsilon: real({ min: 0 }).default(0.2).describe("clip range below (and above, unless epsilonHigh)"),
  epsilonHigh: realOrNull({ min: 0 }).default(null).describe("clip range above (DAPO clip-higher); null: epsilon"),
  beta: real({ min: 0 }).default(0).describe("KL coefficient against the reference (LoRA: the model with its adapters off; full: a frozen copy of the start); 0: none, TRL's default"),
  lossType: oneOf(LOSS_TYPES).default("dapo").describe("how token losses are averaged: grpo (per completion), dr_grpo (by G × maxCompletionLength), dapo (per token of the batch)"),
  scaleRewards: oneOf(["group", "batch", "none"]).default("none").describe("divide advantages by the group's, the batch's or no reward std"),
  maskTruncatedCompletions: flag().default(false).describe("leave completions cut at maxCompletionLength out of the loss (DAPO)"),
  rewardFuncs: rewardFuncsSetting(),
  rewardWeights: realListOrNull().default(null).describe("one weight per reward function; null: all 1"),
  systemPrompt: textOrNull().default(OPEN_R1_SYSTEM_PROMPT).describe("the system turn before each problem (open-r1's, as SFT and evaluation use); null: none"),
  learningRate: real({ gt: 0 }).default(1e-3).describe("peak learning rate"),
  weightDecay: real({ min: 0 }).default(0).describe("AdamW's decoupled weight decay"),
  beta1: real({ min: 0, lt: 1 }).default(0.9).describe("AdamW's β1"),
  beta2: real({ min: 0, lt: 1 }).default(0.999).describe("AdamW's β2"),
  eps: real({ gt: 0 }).default(1e-8).describe("AdamW's ε"),
  warmupRatio: real({ min: 0, max: 1 }).default(0).describe("warmup steps = ceil(warmupRatio × maxSteps)"),
  schedule: oneOf(SCHEDULE_KINDS).default("constant").describe("after warmup: cosine (down to minLrRatio × the peak), linear (down to 0) or constant"),
  minLrRatio: real({ min: 0, max: 1 }).default(0).describe("cosine's floor as a fraction of the peak"),
  maxGradNorm: real({ min: 0 }).default(1).describe("clip gradients to this global norm; 0: no clipping (the norm is still logged)"),
  maxSteps: integer({ min: 1 }).default(50).describe("optimizer steps (generation batches × numIterations)"),
  logEvery: integer({ min: 1 }).default(1).describe("log every N steps (and at the last)"),
  saveEvery: integer({ min: 0 }).default(10).describe("checkpoint every N steps, at the end and on an interruption; 0: never"),
  keepCheckpoints: integer({ min: 1 }).default(2).describe("the newest checkpoints kept; older ones are deleted"),
  logCompletions: flag().default(true).describe("log the last generation batch's prompts, completions, rewards and advantages as a table at each log"),
});

/** What the GRPO trainer needs: every setting, defaults filled in. */
export type GrpoConfig = z.output<typeof grpoSettings>;
/** What `trainGrpo()` takes: the output folder and any other setting (the rest default). */
export type GrpoConfigInput = z.input<typeof grpoSettings>;

/** A weight per reward function, when weights are given: checked with both settings at hand. */
function weightsMatchFunctions(s: { rewardFuncs: string[]; rewardWeights: number[] | null }, ctx: z.core.$RefinementCtx): void {
  if (s.rewardWeights && s.rewardWeights.length !== s.rewardFuncs.length) {
    ctx.addIssue({
      code: "custom",
      path: ["rewardWeights"],
      input: s.rewardWeights,
      message: `must be one weight per reward function (${s.rewardFuncs.length}: ${s.rewardFuncs.join(", ")}), or null`,
    });
  }
}

/**
 * Fills in the defaults and checks every value; unknown keys are refused by name. `custom` names the caller's own
 * reward functions, which rewardFuncs may then list beside open-r1's.
 */
export function resolveGrpoConfig(config: GrpoConfigInput, custom: readonly string[] = [], source = "GRPO config"): GrpoConfig {
  const schema = custom.length ? grpoSettings.extend({ rewardFuncs: rewardFuncsSetting(custom) }) : grpoSettings;
  return parseSettings(schema.superRefine(weightsMatchFunctions), config, source);
}

/** The settings of the pipeline's RL stage (and `openr1 grpo`): whether it runs, what trains, and GRPO's. */
export const rlSettings = z
  .strictObject({
    enabled: flag().default(true).describe("after SFT and its evaluation, train with GRPO on the same problems and evaluate again (the RL stage)"),
    method: oneOf(["lora", "full"]).default("lora").describe("lora: new adapters on the SFT model (also the KL reference); full: every weight trains"),
    ...grpoSettings.pick({
      numGenerations: true, promptsPerStep: true, maxCompletionLength: true, temperature: true, topP: true, microBatchSize: true,
      numIterations: true, epsilon: true, epsilonHigh: true, beta: true, lossType: true, scaleRewards: true, maskTruncatedCompletions: true,
      rewardFuncs: true, rewardWeights: true, learningRate: true, warmupRatio: true, schedule: true, maxGradNorm: true, maxSteps: true,
      logEvery: true, saveEvery: true, keepCheckpoints: true,
    }).shape,
  })
  .superRefine(weightsMatchFunctions);

export type RlSettings = z.output<typeof rlSettings>;

/** The pipeline's RL settings that are the GRPO trainer's (all but `enabled` and `method`). */
export const RL_GRPO_KEYS = Object.keys(rlSettings.shape).filter((k) => k !== "enabled" && k !== "method") as (keyof RlSettings & keyof GrpoConfig)[];
