import { readFileSync } from "node:fs";
import { z } from "zod";
import { BACKEND_PREFERENCES } from "../backend-names.js";
import { LOSS_TYPES } from "../rl/loss.js";
import { REWARD_FUNCS } from "../rl/rewards.js";
import { NEW_TOKEN_DEFAULTS } from "../generation-defaults.js";

const filters = z.strictObject({
  verifiedCorrect: z.boolean().describe("keep rows with at least one Math-Verify-correct generation"),
  completeReasoning: z.boolean().describe("keep rows with at least one complete reasoning trace"),
  nonEmptyAnswer: z.boolean(),
  maxProblemChars: z.number().int().positive().nullable(),
  maxSolutionChars: z.number().int().positive().nullable(),
  dedupe: z.boolean(),
});

export const pipelineConfigSchema = z.strictObject({
  profile: z.enum(["default", "full"]),
  runName: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "a run name is a folder name under outputDir (letters, digits, . _ -; no path, not . or ..)")
    .nullable()
    .describe("run directory name under outputDir; null: the profile's name"),
  outputDir: z.string().min(1),
  seed: z.number().int(),
  backend: z.enum(BACKEND_PREFERENCES),
  data: z.strictObject({
    source: z.string().min(1).describe('"generated", "embedded" (54 real rows), "hub", or a local parquet/jsonl file or directory'),
    hubConfig: z.enum(["default", "extended", "all"]),
    revision: z.string().min(1),
    limit: z.number().int().positive().nullable().describe("rows to read before filtering"),
    filters,
    validation: z.number().positive().describe("a count (≥ 1) or a fraction (< 1)"),
    stratify: z.boolean(),
  }),
  model: z.strictObject({
    source: z.string().min(1).describe('"tiny-math" (shipped), "random-small", a Hub repo id, or a local HF-layout directory'),
    revision: z.string().min(1),
  }),
  lora: z.strictObject({
    r: z.number().int().positive(),
    alpha: z.number().positive(),
    dropout: z.number().min(0).max(1),
    targetModules: z.array(z.enum(["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])).min(1),
  }),
  train: z.strictObject({
    method: z.enum(["lora", "full"]).describe("lora: adapters on the frozen model; full: every weight trains"),
    target: z.enum(["solution", "reasoning"]).describe("assistant turn: reference solution or verified reasoning trace"),
    maxSeqLength: z.number().int().min(16),
    overLength: z.enum(["truncate", "drop"]),
    batchSize: z.number().int().positive(),
    gradientAccumulation: z.number().int().positive(),
    learningRate: z.number().positive(),
    weightDecay: z.number().min(0),
    warmupRatio: z.number().min(0).max(1),
    schedule: z.enum(["cosine", "linear"]),
    minLrRatio: z.number().min(0).max(1),
    maxGradNorm: z.number().positive(),
    epochs: z.number().positive(),
    maxSteps: z.number().int().positive().nullable().describe("overrides epochs when set"),
    logEvery: z.number().int().positive(),
    evalEvery: z.number().int().positive(),
    evalOnStart: z.boolean().describe("validation loss of the base model before the first step"),
    saveEvery: z.number().int().positive(),
    keepCheckpoints: z.number().int().positive(),
    mergedDtype: z.enum(["bf16", "f32"]),
  }),
  eval: z.strictObject({
    numProblems: z.number().int().positive(),
    batchSize: z.number().int().positive(),
    maxNewTokens: z.number().int().positive(),
    temperature: z.number().min(0).describe("0: greedy"),
    topP: z.number().gt(0).max(1),
    compareBase: z.boolean().describe("also evaluate the base model, side by side"),
    atCheckpoints: z.boolean().describe("also the accuracy at each checkpoint but the last (LoRA: one evaluation per checkpoint)"),
  }),
  rl: z.strictObject({
    enabled: z.boolean().describe("after SFT and its evaluation, train with GRPO on the same problems and evaluate again (the RL stage)"),
    method: z.enum(["lora", "full"]).describe("lora: new adapters on the SFT model (also the KL reference); full: every weight trains"),
    numGenerations: z.number().int().min(2).describe("G: completions sampled per prompt (TRL num_generations)"),
    promptsPerStep: z.number().int().positive().describe("prompts per generation batch (TRL generation_batch_size / num_generations)"),
    maxCompletionLength: z.number().int().positive().describe("new tokens per completion at most (TRL max_completion_length)"),
    temperature: z.number().positive().describe("sampling temperature; log-probs are taken at the same temperature"),
    topP: z.number().gt(0).max(1),
    microBatchSize: z.number().int().positive().describe("completions per forward/backward pass (does not change the loss)"),
    numIterations: z.number().int().positive().describe("μ: optimizer steps per generation batch"),
    epsilon: z.number().min(0).describe("clip range below (and above, unless epsilonHigh)"),
    epsilonHigh: z.number().min(0).nullable().describe("clip range above (DAPO clip-higher); null: epsilon"),
    beta: z.number().min(0).describe("KL coefficient against the reference (0: none, TRL's default)"),
    lossType: z.enum(LOSS_TYPES),
    scaleRewards: z.enum(["group", "batch", "none"]).describe("divide advantages by the group's, the batch's or no reward std"),
    maskTruncatedCompletions: z.boolean().describe("leave completions cut at maxCompletionLength out of the loss"),
    rewardFuncs: z.array(z.enum(REWARD_FUNCS)).min(1).describe("open-r1 reward names"),
    rewardWeights: z.array(z.number()).nullable().describe("one weight per reward function; null: all 1"),
    learningRate: z.number().positive(),
    warmupRatio: z.number().min(0).max(1),
    schedule: z.enum(["cosine", "linear", "constant"]),
    maxGradNorm: z.number().positive(),
    maxSteps: z.number().int().positive().describe("optimizer steps (generation batches × numIterations)"),
    logEvery: z.number().int().positive(),
    saveEvery: z.number().int().positive(),
    keepCheckpoints: z.number().int().positive(),
  }),
  tracking: z.strictObject({
    mode: z.enum(["auto", "online", "offline", "disabled"]).describe("auto: online when WANDB_API_KEY is set"),
    project: z.string().min(1),
    entity: z.string().min(1).nullable(),
  }),
});

export type PipelineConfig = z.infer<typeof pipelineConfigSchema>;
export type Profile = PipelineConfig["profile"];

/**
 * `default`: offline in a few minutes on two CPU cores. The shipped base model (qwen2-tiny-math, pretrained
 * by `openr1 pretrain` on generated arithmetic: it answers chat prompts directly, without steps) is
 * LoRA-fine-tuned on generated OpenR1-format problems whose solutions reason step by step, then base and
 * tuned are evaluated on held-out problems of the same generator.
 */
const embeddedDefault: PipelineConfig = {
  profile: "default",
  runName: null,
  outputDir: "runs",
  seed: 42,
  backend: "auto",
  data: {
    source: "generated",
    hubConfig: "default",
    revision: "main",
    limit: null,
    filters: { verifiedCorrect: false, completeReasoning: false, nonEmptyAnswer: true, maxProblemChars: null, maxSolutionChars: null, dedupe: true },
    validation: 120,
    stratify: false,
  },
  model: { source: "tiny-math", revision: "main" },
  lora: { r: 16, alpha: 32, dropout: 0.05, targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] },
  train: {
    method: "lora", target: "solution", maxSeqLength: 256, overLength: "truncate", batchSize: 8, gradientAccumulation: 1,
    learningRate: 2e-3, weightDecay: 0, warmupRatio: 0.1, schedule: "cosine", minLrRatio: 0.1, maxGradNorm: 1,
    epochs: 1, maxSteps: 120, logEvery: 5, evalEvery: 20, evalOnStart: true, saveEvery: 40, keepCheckpoints: 2, mergedDtype: "bf16",
  },
  eval: { numProblems: 120, batchSize: 40, maxNewTokens: NEW_TOKEN_DEFAULTS.pipeline, temperature: 0, topP: 1, compareBase: true, atCheckpoints: true },
  rl: {
    enabled: true, method: "lora", numGenerations: 8, promptsPerStep: 8, maxCompletionLength: 64, temperature: 1, topP: 1, microBatchSize: 32,
    numIterations: 1, epsilon: 0.2, epsilonHigh: null, beta: 0, lossType: "dapo", scaleRewards: "none", maskTruncatedCompletions: false,
    rewardFuncs: ["accuracy"], rewardWeights: null, learningRate: 1e-3, warmupRatio: 0, schedule: "constant", maxGradNorm: 1, maxSteps: 50,
    logEvery: 1, saveEvery: 10, keepCheckpoints: 2,
  },
  tracking: { mode: "auto", project: "openr1-ts", entity: null },
};

/**
 * `full`: Qwen2.5-0.5B-Instruct on OpenR1-Math-220k (default config) from the Hub, in the spirit of open-r1's
 * SFT recipe (reasoning traces, cosine with a 10% floor, 10% warmup, effective batch 16) scaled to LoRA
 * (rank 16 on all linears and the 10× learning rate LoRA usually needs).
 */
const full: PipelineConfig = {
  profile: "full",
  runName: null,
  outputDir: "runs",
  seed: 42,
  backend: "auto",
  data: {
    source: "hub",
    hubConfig: "default",
    revision: "e4e141ec9dea9f8326f4d347be56105859b2bd68",
    limit: null,
    filters: { verifiedCorrect: true, completeReasoning: true, nonEmptyAnswer: true, maxProblemChars: null, maxSolutionChars: null, dedupe: true },
    validation: 500,
    stratify: true,
  },
  model: { source: "Qwen/Qwen2.5-0.5B-Instruct", revision: "7ae557604adf67be50417f59c2c2f167def9a775" },
  lora: { r: 16, alpha: 32, dropout: 0.05, targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] },
  train: {
    method: "lora", target: "reasoning", maxSeqLength: 4096, overLength: "drop", batchSize: 1, gradientAccumulation: 16,
    learningRate: 2e-4, weightDecay: 0, warmupRatio: 0.1, schedule: "cosine", minLrRatio: 0.1, maxGradNorm: 1,
    epochs: 1, maxSteps: null, logEvery: 10, evalEvery: 200, evalOnStart: false, saveEvery: 200, keepCheckpoints: 3, mergedDtype: "bf16",
  },
  eval: { numProblems: 200, batchSize: 8, maxNewTokens: NEW_TOKEN_DEFAULTS.pipelineFull, temperature: 0, topP: 1, compareBase: true, atCheckpoints: false },
  rl: {
    enabled: false, method: "lora", numGenerations: 8, promptsPerStep: 8, maxCompletionLength: 2048, temperature: 0.7, topP: 1, microBatchSize: 4,
    numIterations: 1, epsilon: 0.2, epsilonHigh: null, beta: 0, lossType: "dapo", scaleRewards: "group", maskTruncatedCompletions: false,
    rewardFuncs: ["accuracy", "format", "tag_count"], rewardWeights: null, learningRate: 1e-5, warmupRatio: 0.1, schedule: "cosine", maxGradNorm: 0.2, maxSteps: 500,
    logEvery: 5, saveEvery: 50, keepCheckpoints: 3,
  },
  tracking: { mode: "auto", project: "openr1-ts", entity: null },
};

export const profiles: Record<Profile, PipelineConfig> = { default: embeddedDefault, full };

export type RlConfig = PipelineConfig["rl"];
export type RlProfile = "default" | "r1-zero";

/**
 * `openr1 grpo`'s settings: `default` is the pipeline's RL stage (GRPO on the model SFT made, which `openr1 run`
 * leaves in runs/default/train/merged); `r1-zero` starts from the shipped base model itself, which answers a chat at
 * once, with no SFT (DeepSeek-R1-Zero's setting), rewarding correct answers and, at a fifth of their weight,
 * written-out steps; 250 steps take about 15 minutes on two cores.
 */
export const rlProfiles: Record<RlProfile, { model: string; rl: RlConfig }> = {
  default: { model: "runs/default/train/merged", rl: { ...embeddedDefault.rl } },
  "r1-zero": {
    model: "tiny-math",
    rl: { ...embeddedDefault.rl, rewardFuncs: ["accuracy", "step_by_step"], rewardWeights: [1, 0.2], maxSteps: 250, saveEvery: 25 },
  },
};

/** Parses `key.path=value` overrides; values are JSON when they parse as JSON, else strings. */
export function parseOverride(spec: string): [string[], unknown] {
  const eq = spec.indexOf("=");
  if (eq <= 0) throw new Error(`Override "${spec}" is not of the form key.path=value`);
  const path = spec.slice(0, eq).split(".");
  const raw = spec.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // a bare string such as runs/x or Qwen/Qwen2.5-0.5B
  }
  return [path, value];
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown, spec: string): void {
  let node: Record<string, unknown> = target;
  for (const [i, key] of path.entries()) {
    if (node === null || typeof node !== "object" || !(key in node)) throw new Error(`Unknown config key "${path.slice(0, i + 1).join(".")}" in override "${spec}"`);
    if (i === path.length - 1) node[key] = value;
    else node = node[key] as Record<string, unknown>;
  }
}

function deepMerge(base: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  if (base === null || typeof base !== "object" || Array.isArray(base)) return patch;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(patch)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out;
}

export interface ConfigSources {
  profile?: Profile;
  /** A JSON config file: a partial config merged over the profile (it may name the profile itself). */
  file?: string;
  /** `key.path=value` overrides, applied last. */
  overrides?: string[];
}

/** Profile ← config file ← overrides, validated: unknown keys and bad values are errors that name them. */
export function resolveConfig(sources: ConfigSources = {}): PipelineConfig {
  let fileConfig: Record<string, unknown> = {};
  if (sources.file) {
    let text: string;
    try {
      text = readFileSync(sources.file, "utf8");
    } catch (e) {
      throw new Error(`Cannot read config file ${sources.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      fileConfig = JSON.parse(text);
    } catch (e) {
      throw new Error(`Config file ${sources.file} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const profileName = sources.profile ?? (fileConfig.profile as Profile | undefined) ?? "default";
  const base = profiles[profileName];
  if (!base) throw new Error(`Unknown profile "${profileName}": use ${Object.keys(profiles).join(" or ")}`);
  const merged = deepMerge(structuredClone(base), fileConfig) as Record<string, unknown>;
  for (const spec of sources.overrides ?? []) {
    const [path, value] = parseOverride(spec);
    setPath(merged, path, value, spec);
  }
  const parsed = pipelineConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const where = sources.file ? ` (from ${sources.file}${sources.overrides?.length ? " and overrides" : ""})` : "";
    throw new Error(`Invalid configuration${where}:\n${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
