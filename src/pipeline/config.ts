import { readFileSync } from "node:fs";
import { z } from "zod";
import { BACKEND_PREFERENCES } from "../backend-names.js";
import { evalSettings, type EvalSettings } from "../eval/settings.js";
import { NEW_TOKEN_DEFAULTS } from "../generation-defaults.js";
import { OPENR1_REVISION } from "../data/source.js";
import { splitSettings } from "../data/split.js";
import { DEFAULT_MODEL_REPO } from "../model/load.js";
import { loraSettings } from "../model/lora.js";
import { resolveGrpoConfig, RL_GRPO_KEYS, rlSettings, type GrpoConfig } from "../rl/settings.js";
import { flag, fromText, integerOrNull, oneOf, parseSettings, seedSetting, settingAt, text, textOrNull } from "../settings.js";
import { TRAINER_KEYS, trainerSettings, trainJobSettings, type TrainerConfig } from "../train/settings.js";

const dataSettings = z.strictObject({
  source: text().default("generated").describe('"generated" (problems made here), "embedded" (54 real rows), "hub", or a local parquet/jsonl file or folder'),
  hubConfig: oneOf(["default", "extended", "all"]).default("default").describe("OpenR1-Math-220k's config on the Hub"),
  revision: text().default(OPENR1_REVISION).describe("the dataset's Hub revision (a commit keeps the data reproducible)"),
  limit: integerOrNull({ min: 1 }).default(null).describe("rows to read before filtering; null: all"),
  filters: z.strictObject({
    verifiedCorrect: flag().default(false).describe("keep rows with at least one Math-Verify-correct generation"),
    completeReasoning: flag().default(false).describe("keep rows with at least one complete reasoning trace"),
    nonEmptyAnswer: flag().default(true).describe("keep rows whose answer is not empty"),
    maxProblemChars: integerOrNull({ min: 1 }).default(null).describe("drop rows whose problem is longer; null: no limit"),
    maxSolutionChars: integerOrNull({ min: 1 }).default(null).describe("drop rows whose reference solution is longer; null: no limit"),
    dedupe: flag().default(true).describe("keep one row of each repeated problem"),
  }).prefault({}),
  validation: splitSettings.shape.validation.default(120),
  stratify: splitSettings.shape.stratify,
});

const { outputDir: _outputDir, seed: _seed, ...trainerShape } = trainerSettings.shape;
const { mergedDtype, ...jobShape } = trainJobSettings.shape;

/**
 * The run's configuration. Each setting is defined once, where the code that uses it lives — the trainer's in
 * src/train/settings.ts, LoRA's in src/model/lora.ts, the evaluation's in src/eval/settings.ts, GRPO's in
 * src/rl/settings.ts — and composed here; its default is the embedded default's (`npm start`), except the
 * evaluation's (`openr1 evaluate`'s, for any model: the profiles set theirs).
 */
export const pipelineConfigSchema = z.strictObject({
  profile: oneOf(["default", "full"]).default("default").describe("the settings this configuration starts from"),
  runName: textOrNull({ regex: /^[A-Za-z0-9][A-Za-z0-9._-]*$/, rule: "a folder name under outputDir (letters, digits, . _ -; no path, not . or ..)" })
    .default(null)
    .describe("run directory name under outputDir; null: the profile's name"),
  outputDir: text().default("runs").describe("where run directories (and tracking records) go"),
  seed: seedSetting,
  backend: oneOf(BACKEND_PREFERENCES).default("auto").describe("TensorFlow.js backend; auto: the fastest that loads (OPENR1_BACKEND sets it)"),
  data: dataSettings.prefault({}),
  model: z.strictObject({
    source: text().default("tiny-math").describe('"tiny-math" (shipped), "random-small", a Hub repo id, or a local HF-layout folder'),
    revision: textOrNull().default(null).describe(`the model's Hub revision; null: the pinned commit for ${DEFAULT_MODEL_REPO}, else main`),
  }).prefault({}),
  lora: loraSettings.prefault({}),
  train: z.strictObject({ ...jobShape, ...trainerShape, mergedDtype }).prefault({}),
  eval: evalSettings.extend({
    compareBase: flag().default(true).describe("also evaluate the base model, side by side"),
    atCheckpoints: flag().default(true).describe("also the accuracy at each checkpoint but the last (LoRA: one evaluation per checkpoint)"),
  }).prefault({}),
  rl: rlSettings.prefault({}),
  tracking: z.strictObject({
    mode: oneOf(["auto", "online", "offline", "disabled"]).default("auto").describe("auto: online when WANDB_API_KEY is set, else offline"),
    project: text().default("openr1-ts").describe("W&B project"),
    entity: textOrNull().default(null).describe("W&B entity (user or team); null: the key's default"),
  }).prefault({}),
});

export type PipelineConfig = z.output<typeof pipelineConfigSchema>;
export type PipelineConfigInput = z.input<typeof pipelineConfigSchema>;
export type Profile = PipelineConfig["profile"];

/**
 * What each profile changes from the settings' defaults.
 *
 * `default`: offline in a few minutes on two CPU cores. The shipped base model (qwen2-tiny-math, pretrained
 * by `openr1 pretrain` on generated arithmetic: it answers chat prompts directly, without steps) is
 * LoRA-fine-tuned on generated OpenR1-format problems whose solutions reason step by step, then base and
 * tuned are evaluated on held-out problems of the same generator, then GRPO trains the fine-tuned model further
 * (the RL stage) and it is evaluated again. The training and RL settings' defaults are its values; it evaluates 120
 * problems in batches of 40 with tiny-math's short answers' token budget.
 *
 * `full`: Qwen2.5-0.5B-Instruct on OpenR1-Math-220k (default config) from the Hub, in the spirit of open-r1's
 * SFT recipe (reasoning traces, cosine with a 10% floor, 10% warmup, effective batch 16) scaled to LoRA
 * (rank 16 on all linears and the 10× learning rate LoRA usually needs). Its RL stage (2,048-token completions,
 * accuracy, format and tag rewards) is off unless `rl.enabled` turns it on.
 */
const PROFILE_CHANGES: Record<Profile, PipelineConfigInput> = {
  default: {
    profile: "default",
    eval: { numProblems: 120, batchSize: 40, maxNewTokens: NEW_TOKEN_DEFAULTS.pipeline },
  },
  full: {
    profile: "full",
    data: {
      source: "hub",
      revision: "e4e141ec9dea9f8326f4d347be56105859b2bd68",
      filters: { verifiedCorrect: true, completeReasoning: true },
      validation: 500,
      stratify: true,
    },
    model: { source: "Qwen/Qwen2.5-0.5B-Instruct", revision: "7ae557604adf67be50417f59c2c2f167def9a775" },
    train: {
      target: "reasoning", maxSeqLength: 4096, overLength: "drop", batchSize: 1, gradientAccumulation: 16, learningRate: 2e-4,
      maxSteps: null, logEvery: 10, evalEvery: 200, evalOnStart: false, saveEvery: 200, keepCheckpoints: 3,
    },
    eval: { numProblems: 200, batchSize: 8, maxNewTokens: NEW_TOKEN_DEFAULTS.pipelineFull, atCheckpoints: false },
    rl: {
      enabled: false, maxCompletionLength: 2048, temperature: 0.7, microBatchSize: 4, scaleRewards: "group", rewardFuncs: ["accuracy", "format", "tag_count"],
      learningRate: 1e-5, warmupRatio: 0.1, schedule: "cosine", maxGradNorm: 0.2, maxSteps: 500, logEvery: 5, saveEvery: 50, keepCheckpoints: 3,
    },
  },
};

export const profiles: Record<Profile, PipelineConfig> = {
  default: pipelineConfigSchema.parse(PROFILE_CHANGES.default),
  full: pipelineConfigSchema.parse(PROFILE_CHANGES.full),
};

export type RlConfig = PipelineConfig["rl"];
export type RlProfile = "default" | "r1-zero";

/**
 * `openr1 grpo`'s settings: `default` is the pipeline's RL stage (GRPO on the model SFT made, which `openr1 run`
 * leaves in runs/default/train/merged); `r1-zero` starts from the shipped base model itself, which answers a chat at
 * once, with no SFT (DeepSeek-R1-Zero's setting), rewarding correct answers and, at a fifth of their weight,
 * written-out steps; 250 steps take about 15 minutes on two cores.
 */
export const rlProfiles: Record<RlProfile, { model: string; rl: RlConfig }> = {
  default: { model: "runs/default/train/merged", rl: { ...profiles.default.rl } },
  "r1-zero": {
    model: "tiny-math",
    rl: { ...profiles.default.rl, rewardFuncs: ["accuracy", "step_by_step"], rewardWeights: [1, 0.2], maxSteps: 250, saveEvery: 25 },
  },
};

/** Splits a `key.path=value` override; the value is read as the setting's type (fromText) when it is applied. */
export function parseOverride(spec: string): [string[], string] {
  const eq = spec.indexOf("=");
  if (eq <= 0) throw new Error(`Override "${spec}" is not of the form key.path=value`);
  return [spec.slice(0, eq).split("."), spec.slice(eq + 1)];
}

/** The override's value as the setting's type, set at its path (an object value is merged into the section). */
function applyOverride(target: Record<string, unknown>, spec: string): void {
  const [path, raw] = parseOverride(spec);
  const setting = settingAt(pipelineConfigSchema, path);
  if (!setting) {
    const known = path.findIndex((_, i) => !settingAt(pipelineConfigSchema, path.slice(0, i + 1)));
    throw new Error(`Unknown setting "${path.slice(0, known + 1).join(".")}" in override "${spec}"`);
  }
  const value = fromText(setting, raw);
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (node[key] === null || typeof node[key] !== "object") node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path.at(-1)!;
  node[last] = deepMerge(node[last], value);
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
  /** Typed settings merged over the file (what a command's flags set, e.g. `openr1 train --lr`). */
  patch?: PipelineConfigInput;
  /** `key.path=value` overrides (`--set`), applied last; each value is read as its setting's type. */
  overrides?: string[];
}

/** Profile ← config file ← patch ← overrides, validated: unknown keys and bad values are errors that name them. */
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
  const merged = deepMerge(deepMerge(structuredClone(base), fileConfig), sources.patch ?? {}) as Record<string, unknown>;
  for (const spec of sources.overrides ?? []) applyOverride(merged, spec);
  const where = sources.file ? ` (from ${sources.file}${sources.overrides?.length ? " and overrides" : ""})` : "";
  return parseSettings(pipelineConfigSchema, merged, `Invalid configuration${where}`);
}

/** The trainer's settings in a run's configuration: exactly the trainer's keys (src/train/settings.ts), no others. */
export function trainerConfigOf(config: PipelineConfig, outputDir: string): TrainerConfig {
  const train = config.train as Record<string, unknown>;
  const picked = Object.fromEntries(TRAINER_KEYS.filter((k) => k in train).map((k) => [k, train[k]]));
  return { ...(picked as Omit<TrainerConfig, "outputDir" | "seed">), seed: config.seed, outputDir };
}

/** The evaluation's settings in a run's configuration (src/eval/settings.ts) with the run's seed. */
export function evalSettingsOf(config: PipelineConfig): EvalSettings {
  const { compareBase: _c, atCheckpoints: _a, ...settings } = config.eval;
  return { ...settings, seed: config.seed };
}

/** What runTrainJob takes from a run's configuration (the pipeline's training stage and `openr1 train` alike). */
export function trainJobOf(config: PipelineConfig, outputDir: string) {
  const { method, target, maxSeqLength, overLength, mergedDtype } = config.train;
  return {
    model: config.model.source,
    modelOptions: { revision: config.model.revision ?? undefined },
    method,
    lora: config.lora,
    format: { target, maxSeqLength, overLength },
    trainer: trainerConfigOf(config, outputDir),
    mergedDtype,
  };
}

/** The GRPO trainer's settings in a run's configuration (src/rl/settings.ts): the `rl` section's but enabled and method. */
export function grpoConfigOf(config: PipelineConfig, outputDir: string): GrpoConfig {
  const picked = Object.fromEntries(RL_GRPO_KEYS.map((k) => [k, config.rl[k]]));
  return resolveGrpoConfig({ ...picked, seed: config.seed, outputDir });
}
