// Every setting through every door: a command-line flag (parsed by the real commander programs of `openr1 train`,
// `openr1 grpo`, `openr1 evaluate` and `openr1 serve`), `openr1 run --set key=value` (resolveConfig), a config file
// (the RL settings), and the library function that takes it (train()'s resolveTrainerConfig, runTrainJob's
// resolveTrainJobSettings, LoraModel.create's resolveLoraConfig, trainGrpo()'s resolveGrpoConfig, evaluate()'s
// resolveEvalSettings, splitExamples, GenerationEngine and startServer). Each value must come out the same from each
// door, or be refused by each with the same words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { Command } from "commander";
import { z } from "zod";
import { registerEvalCommands, evaluateCommandSettings, EVALUATE_SETTINGS } from "../../src/cli/eval.js";
import { GRPO_SETTINGS, grpoCommandConfig, registerGrpoCommands } from "../../src/cli/grpo.js";
import { registerServeCommands } from "../../src/cli/serve.js";
import { registerTrainCommands, trainCommandConfig, TRAIN_SETTINGS } from "../../src/cli/train.js";
import { splitExamples } from "../../src/data/split.js";
import { resolveEvalSettings } from "../../src/eval/settings.js";
import { LoraModel, resolveLoraConfig } from "../../src/model/lora.js";
import type { Qwen2Model } from "../../src/model/qwen2.js";
import { evalSettingsOf, grpoConfigOf, pipelineConfigSchema, profiles, resolveConfig, rlProfiles, trainerConfigOf } from "../../src/pipeline/config.js";
import { runGrpoJob } from "../../src/rl/job.js";
import { resolveGrpoConfig } from "../../src/rl/settings.js";
import { trainGrpo } from "../../src/rl/trainer.js";
import { resolveEngineSettings, resolveServerSettings, serveSettings } from "../../src/serve/settings.js";
import { fromText, parseSettings, settingDefault, settingLeaves, unwrapSetting } from "../../src/settings.js";
import { resolveTrainerConfig, resolveTrainJobSettings, TRAINER_KEYS, trainJobSettings } from "../../src/train/settings.js";
import { train } from "../../src/train/trainer.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** What a door made of a value: the value, or the words it refused it with (from "must be" on). */
type Outcome = { value: unknown } | { refused: string };

const refusal = (e: unknown): Outcome => {
  const message = (e as Error).message;
  const rule = /(must be .*)$/m.exec(message);
  assert.ok(rule, `a refusal says what the value must be: ${message}`);
  return { refused: rule[1]! };
};
const attempt = (f: () => unknown): Outcome => {
  try {
    return { value: f() };
  } catch (e) {
    return refusal(e);
  }
};

/** Texts tried on every setting: boundaries of the ranges used, wrong types, null, lists. */
const PROBES = [
  "0", "-1", "0.05", "0.5", "0.999", "1", "1.5", "2", "15", "16", "42", "1e-4", "2e-3", "65535", "65536", "1e30",
  "abc", "", "null", "true", "false", "maybe", "Infinity", "NaN", "q_proj", "q_proj,v_proj", "q_proj,lm_head", '["k_proj"]', "[]",
];

function probesOf(schema: z.ZodType): string[] {
  const { base } = unwrapSetting(schema);
  const own = base instanceof z.ZodEnum ? base.options.map(String) : [];
  const fallback = settingDefault(schema);
  return [...new Set([...PROBES, ...own, ...(fallback === undefined ? [] : [Array.isArray(fallback) ? fallback.join(",") : String(fallback)])])];
}

const quiet = <T extends Command>(c: T) => c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });

/** Parses `openr1 <args>` with the real command, its action replaced by `read`. */
function parse<T>(register: (p: Command) => void, args: string[], read: (command: Command) => T): Outcome {
  const program = quiet(new Command());
  register(program);
  let out: T | undefined;
  for (const c of program.commands) quiet(c).action(() => void (out = read(c)));
  try {
    program.parse(["node", "openr1", ...args]);
  } catch (e) {
    return refusal(e);
  }
  return { value: out };
}

const at = (config: unknown, path: string) => path.split(".").reduce((node: unknown, k) => (node as Record<string, unknown>)[k], config);
const leafPaths = (prefix: string) => settingLeaves(pipelineConfigSchema).map((l) => l.path.join(".")).filter((p) => p.startsWith(prefix));

/** The library door of a setting of the run's configuration. */
function library(path: string, value: unknown): Outcome {
  const [section, key] = path.split(".") as [string, string | undefined];
  if (section === "seed") {
    const outcomes = [
      attempt(() => resolveTrainerConfig({ outputDir: "o", seed: value as number }).seed),
      attempt(() => resolveEvalSettings({ seed: value as number }).seed),
      attempt(() => resolveGrpoConfig({ outputDir: "o", seed: value as number }).seed),
      attempt(() => splitExamples([], { validation: 1, seed: value as number }) && value),
      // LoraModel.create checks its seed before it touches the model.
      attempt(() => {
        try {
          LoraModel.create({} as Qwen2Model, {}, value as number);
        } catch (e) {
          if (e instanceof TypeError) return value;
          throw e;
        }
      }),
    ];
    for (const o of outcomes.slice(1)) assert.deepEqual(o, outcomes[0], `seed ${JSON.stringify(value)}: every library door alike`);
    return outcomes[0]!;
  }
  if (section === "train" && (TRAINER_KEYS as string[]).includes(key!)) return attempt(() => (resolveTrainerConfig({ outputDir: "o", [key!]: value }) as Record<string, unknown>)[key!]);
  if (section === "train" && key! in trainJobSettings.shape) return attempt(() => (resolveTrainJobSettings({ [key!]: value }) as Record<string, unknown>)[key!]);
  if (section === "lora") return attempt(() => (resolveLoraConfig({ [key!]: value }) as Record<string, unknown>)[key!]);
  // rl.enabled is the pipeline's switch and rl.method runGrpoJob's choice of model class: neither is trainGrpo()'s.
  if (section === "rl" && key !== "enabled" && key !== "method") return attempt(() => (resolveGrpoConfig({ outputDir: "o", [key!]: value }) as Record<string, unknown>)[key!]);
  if (section === "eval") return attempt(() => (resolveEvalSettings({ [key!]: value }) as Record<string, unknown>)[key!]);
  if (path === "data.validation") {
    return attempt(() => {
      try {
        splitExamples([{ problem: "p", problemType: "t" }, { problem: "q", problemType: "t" }], { validation: value as number });
      } catch (e) {
        // Accepted as a setting; two examples are too few for it (what a larger data set would not be).
        if (!/leaves no training examples/.test((e as Error).message)) throw e;
      }
      return value;
    });
  }
  throw new Error(`no library door for ${path}`);
}

test("openr1 train has a flag for every training and LoRA setting, and the data, model, seed and backend settings it shares with run", () => {
  const flagged = TRAIN_SETTINGS.map((s) => s.path).sort();
  assert.deepEqual(flagged, [...leafPaths("train."), ...leafPaths("lora."), "data.source", "data.limit", "data.validation", "model.source", "seed", "backend"].sort());
  assert.equal(new Set(TRAIN_SETTINGS.map((s) => s.flag)).size, TRAIN_SETTINGS.length, "one flag per setting");
  // The flags a user of earlier versions typed still work.
  for (const flag of ["lr", "grad-accum", "lora-r", "lora-alpha", "lora-dropout", "lora-targets", "max-steps", "batch-size", "data", "model", "seed"]) {
    assert.ok(TRAIN_SETTINGS.some((s) => s.flag === flag), `--${flag}`);
  }
});

test("every training, LoRA, data and seed setting: the same value or the same refusal from `openr1 train --flag`, `openr1 run --set` and the library", () => {
  let compared = 0;
  for (const { path, flag } of TRAIN_SETTINGS) {
    const schema = settingLeaves(pipelineConfigSchema).find((l) => l.path.join(".") === path)!.schema;
    const seen = new Set<string>();
    for (const text of probesOf(schema)) {
      const cli = parse(registerTrainCommands, ["train", `--${flag}=${text}`], (c) => at(trainCommandConfig(c), path));
      const set = attempt(() => at(resolveConfig({ overrides: [`${path}=${text}`] }), path));
      assert.deepEqual(cli, set, `${path} = ${JSON.stringify(text)}: --${flag} and --set`);
      seen.add(Object.keys(set)[0]!);
      if (["data.source", "data.limit", "model.source", "backend"].includes(path)) continue; // checked where they are used (loading, selectBackend)
      const lib = library(path, fromText(schema, text));
      assert.deepEqual(lib, set, `${path} = ${JSON.stringify(text)}: the library and --set`);
      compared++;
    }
    assert.deepEqual([...seen].sort(), ["refused", "value"], `${path}: the probes include values it takes and values it refuses`);
  }
  assert.ok(compared > 900, `${compared} comparisons with the library`);
});

test("every evaluation setting: the same value or the same refusal from `openr1 evaluate --flag`, `openr1 run --set` and evaluate()", () => {
  assert.deepEqual(EVALUATE_SETTINGS.map((s) => s.path).sort(), [...leafPaths("eval.").filter((p) => !["eval.compareBase", "eval.atCheckpoints"].includes(p)), "seed"].sort());
  for (const { path, flag } of EVALUATE_SETTINGS) {
    const schema = settingLeaves(pipelineConfigSchema).find((l) => l.path.join(".") === path)!.schema;
    for (const text of probesOf(schema)) {
      const cli = parse((p) => registerEvalCommands(p), ["evaluate", "--model", "m", "--data", "d", `--${flag}=${text}`], (c) => at(evaluateCommandSettings(c), path.replace(/^eval\./, "")));
      const set = attempt(() => at(resolveConfig({ overrides: [`${path}=${text}`] }), path));
      assert.deepEqual(cli, set, `${path} = ${JSON.stringify(text)}: --${flag} and --set`);
      assert.deepEqual(library(path, fromText(schema, text)), set, `${path} = ${JSON.stringify(text)}: evaluate() and --set`);
    }
  }
  // The pipeline-only evaluation settings (no command evaluates checkpoints or a base model by a setting).
  for (const path of ["eval.compareBase", "eval.atCheckpoints"]) {
    assert.deepEqual(attempt(() => at(resolveConfig({ overrides: [`${path}=maybe`] }), path)), { refused: 'must be true or false, got "maybe"' });
  }
});

test("every serve setting: the same value or the same refusal from `openr1 serve --flag` and GenerationEngine / startServer", () => {
  const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  for (const [key, schema] of Object.entries(serveSettings.shape)) {
    for (const text of probesOf(schema)) {
      const cli = parse(registerServeCommands, ["serve", `--${kebab(key)}=${text}`], (c) => c.opts()[key]);
      const value = fromText(schema, text);
      const lib =
        // The name the CLI serves under (startServer takes it as modelName).
        key === "servedModelName" ? attempt(() => parseSettings(serveSettings.pick({ servedModelName: true }), { servedModelName: value }, "serve").servedModelName)
        : key in resolveEngineSettings({}) ? attempt(() => (resolveEngineSettings({ [key]: value }) as Record<string, unknown>)[key])
        : attempt(() => (resolveServerSettings({ [key]: value }) as Record<string, unknown>)[key]);
      if ("refused" in lib) assert.ok("refused" in cli && cli.refused === lib.refused, `${key} = ${JSON.stringify(text)}: ${JSON.stringify(cli)} vs ${JSON.stringify(lib)}`);
      else assert.deepEqual(cli, lib, `${key} = ${JSON.stringify(text)}`);
    }
  }
});

test("one default per setting: openr1 train, openr1 run and train() / LoraModel.create; openr1 evaluate and evaluate(); openr1 serve and the server", () => {
  const cli = parse(registerTrainCommands, ["train"], trainCommandConfig);
  assert.ok("value" in cli);
  assert.deepEqual(cli.value, profiles.default, "openr1 train with no flags is the default profile");
  const full = parse(registerTrainCommands, ["train", "--profile", "full", "--lr", "1e-4"], trainCommandConfig);
  assert.deepEqual(full, { value: resolveConfig({ profile: "full", overrides: ["train.learningRate=1e-4"] }) }, "--profile full: the flags change that profile");
  assert.deepEqual(resolveConfig({}), profiles.default);
  assert.deepEqual(trainerConfigOf(profiles.default, "o"), resolveTrainerConfig({ outputDir: "o" }), "train()'s defaults are the default profile's");
  assert.deepEqual(profiles.default.lora, resolveLoraConfig({}));
  const d = profiles.default.train;
  assert.deepEqual(resolveTrainJobSettings({}), { method: d.method, target: d.target, maxSeqLength: d.maxSeqLength, overLength: d.overLength, mergedDtype: d.mergedDtype });
  // The numbers the issue found in two places, once each now.
  assert.equal(resolveTrainerConfig({ outputDir: "o" }).learningRate, 2e-3);
  assert.equal(resolveTrainerConfig({ outputDir: "o" }).batchSize, 8);
  assert.equal(resolveTrainerConfig({ outputDir: "o" }).seed, 42);

  const evaluate = parse((p) => registerEvalCommands(p), ["evaluate", "--model", "m", "--data", "d"], evaluateCommandSettings);
  assert.deepEqual(evaluate, { value: resolveEvalSettings({}) }, "openr1 evaluate's defaults are evaluate()'s");
  // The profiles evaluate their own number of problems with their own batch and budget (tiny-math answers in ~60 tokens).
  assert.deepEqual({ ...evalSettingsOf(profiles.default) }, { ...resolveEvalSettings({}), numProblems: 120, batchSize: 40, maxNewTokens: 96 });

  const serve = parse(registerServeCommands, ["serve"], (c) => c.opts());
  assert.ok("value" in serve);
  assert.deepEqual(Object.fromEntries(Object.keys(serveSettings.shape).map((k) => [k, (serve.value as Record<string, unknown>)[k]])), serveSettings.parse({}));
});

test("the disagreements the doors had, each settled once (the same in every door)", () => {
  const cases: [path: string, flag: string, text: string, expected: Outcome][] = [
    // transformers' constant_with_warmup: the trainer had it, zod refused it
    ["train.schedule", "schedule", "constant", { value: "constant" }],
    // 0 turns clipping off (transformers' max_grad_norm 0), evaluation to the end only, checkpoints off
    ["train.maxGradNorm", "max-grad-norm", "0", { value: 0 }],
    ["train.evalEvery", "eval-every", "0", { value: 0 }],
    ["train.saveEvery", "save-every", "0", { value: 0 }],
    // a dropout of 1 zeroes every adapter input (and divides by 0): refused everywhere, not only in lora.ts
    ["lora.dropout", "lora-dropout", "1", { refused: "must be a number in [0, 1), got 1" }],
    // a learning rate of 0 trains nothing: refused at once, not after loading the model
    ["train.learningRate", "lr", "0", { refused: "must be a number > 0, got 0" }],
    // the number of steps from the epochs is null, as in a config file (0 used to mean it on the command line)
    ["train.maxSteps", "max-steps", "null", { value: null }],
    ["train.maxSteps", "max-steps", "0", { refused: "must be an integer ≥ 1, or null, got 0" }],
    ["train.warmupRatio", "warmup-ratio", "1.5", { refused: "must be a number in [0, 1], got 1.5" }],
    ["train.epochs", "epochs", "0", { refused: "must be a number > 0, got 0" }],
    ["lora.alpha", "lora-alpha", "0", { refused: "must be a number > 0, got 0" }],
    ["seed", "seed", "-1", { refused: "must be an integer ≥ 0, got -1" }],
  ];
  for (const [path, flag, text, expected] of cases) {
    const schema = settingLeaves(pipelineConfigSchema).find((l) => l.path.join(".") === path)!.schema;
    assert.deepEqual(parse(registerTrainCommands, ["train", `--${flag}`, text], (c) => at(trainCommandConfig(c), path)), expected, `--${flag} ${text}`);
    assert.deepEqual(attempt(() => at(resolveConfig({ overrides: [`${path}=${text}`] }), path)), expected, `--set ${path}=${text}`);
    assert.deepEqual(library(path, fromText(schema, text)), expected, `the library, ${path} ${text}`);
  }
  // Boolean settings: --flag, --flag false, --no-flag.
  const evalOnStart = (args: string[]) => parse(registerTrainCommands, ["train", ...args], (c) => trainCommandConfig(c).train.evalOnStart);
  assert.deepEqual([evalOnStart([]), evalOnStart(["--eval-on-start"]), evalOnStart(["--eval-on-start", "false"]), evalOnStart(["--no-eval-on-start"])].map((o) => (o as { value: unknown }).value), [true, true, false, false]);
});

test("train() refuses a wrong setting, or another stage's, before it makes anything; runTrainJob and LoraModel.create likewise", async () => {
  const call = (config: Record<string, unknown>) => train({ model: {} as never, train: [], padTokenId: 0, config: { outputDir: "/nonexistent/never-made", ...config } });
  await assert.rejects(call({ learningRate: 0 }), /^Error: Trainer config: learningRate must be a number > 0, got 0$/);
  // The spread that once put the pipeline's method, target and maxSeqLength into every checkpoint.
  await assert.rejects(call({ ...profiles.default.train }), /Trainer config: unknown settings "method", "target", "maxSeqLength", "overLength", "mergedDtype"/);
  assert.throws(() => LoraModel.create({} as Qwen2Model, { dropout: 1 }), /^Error: LoRA config: dropout must be a number in \[0, 1\), got 1$/);
});

test("openr1 grpo has a flag for every RL setting but rl.enabled, every LoRA setting, and the data, seed and backend settings it shares with run", () => {
  const flagged = GRPO_SETTINGS.map((s) => s.path).sort();
  assert.deepEqual(flagged, [...leafPaths("rl.").filter((p) => p !== "rl.enabled"), ...leafPaths("lora."), "data.source", "data.validation", "seed", "backend"].sort());
  assert.equal(new Set(GRPO_SETTINGS.map((s) => s.flag)).size, GRPO_SETTINGS.length, "one flag per setting");
  // The flags `openr1 grpo` had before its options were made from the settings.
  for (const flag of [
    "data", "validation", "seed", "method", "lora-r", "lora-alpha", "lora-dropout", "lora-targets", "num-generations", "prompts-per-step",
    "max-completion-length", "temperature", "top-p", "micro-batch-size", "num-iterations", "epsilon", "epsilon-high", "beta", "loss-type",
    "scale-rewards", "mask-truncated-completions", "reward-funcs", "reward-weights", "lr", "warmup-ratio", "schedule", "max-grad-norm",
    "max-steps", "log-every", "save-every", "keep-checkpoints", "backend",
  ]) {
    assert.ok(GRPO_SETTINGS.some((s) => s.flag === flag), `--${flag}`);
  }
  // Where both commands have a setting, it has the same flag.
  for (const { path, flag } of GRPO_SETTINGS) {
    const train = TRAIN_SETTINGS.find((s) => s.path === path);
    if (train) assert.equal(flag, train.flag, path);
  }
});

/** More texts for the RL settings: reward lists, a weight per function, the enums. */
const RL_PROBES = ["1,0.2", "accuracy,step_by_step", "accuracy,accuracy", "accuracy,nope", "group", "dapo", "bnpo"];

test("every RL setting: the same value or the same refusal from `openr1 grpo --flag`, `openr1 run --set`, a config file and trainGrpo()", () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-settings-"));
  const file = join(dir, "config.json");
  let compared = 0;
  try {
    for (const { path, flag } of GRPO_SETTINGS) {
      const schema = settingLeaves(pipelineConfigSchema).find((l) => l.path.join(".") === path)!.schema;
      const seen = new Set<string>();
      for (const text of [...probesOf(schema), ...(path.startsWith("rl.") ? RL_PROBES : [])]) {
        const cli = parse(registerGrpoCommands, ["grpo", `--${flag}=${text}`], (c) => at(grpoCommandConfig(c), path));
        const set = attempt(() => at(resolveConfig({ overrides: [`${path}=${text}`] }), path));
        assert.deepEqual(cli, set, `${path} = ${JSON.stringify(text)}: --${flag} and --set`);
        seen.add(Object.keys(set)[0]!);
        if (!path.startsWith("rl.")) continue; // the LoRA, data and seed settings: checked with openr1 train above
        const value = fromText(schema, text);
        const key = path.slice("rl.".length);
        const json = JSON.stringify({ rl: { [key]: value } });
        // A config file holds JSON: not Infinity.
        if (isDeepStrictEqual(JSON.parse(json).rl[key], value)) {
          writeFileSync(file, json);
          assert.deepEqual(attempt(() => at(resolveConfig({ file }), path)), set, `${path} = ${JSON.stringify(text)}: a config file and --set`);
        }
        if (key === "enabled" || key === "method") continue;
        assert.deepEqual(library(path, value), set, `${path} = ${JSON.stringify(text)}: trainGrpo() and --set`);
        compared++;
      }
      assert.deepEqual([...seen].sort(), ["refused", "value"], `${path}: the probes include values it takes and values it refuses`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(compared > 600, `${compared} comparisons with trainGrpo()`);
});

test("one default per RL setting: openr1 grpo, openr1 run and trainGrpo(); openr1 grpo --profile r1-zero changes its own", () => {
  assert.deepEqual(parse(registerGrpoCommands, ["grpo"], grpoCommandConfig), { value: profiles.default }, "openr1 grpo with no flags: the default profile");
  assert.deepEqual(resolveConfig({}).rl, profiles.default.rl);
  assert.deepEqual(grpoConfigOf(profiles.default, "o"), resolveGrpoConfig({ outputDir: "o" }), "trainGrpo()'s defaults are the default profile's RL stage");
  const r1 = parse(registerGrpoCommands, ["grpo", "--profile", "r1-zero", "--lr", "1e-4"], (c) => grpoCommandConfig(c).rl);
  assert.deepEqual(r1, { value: { ...rlProfiles["r1-zero"].rl, learningRate: 1e-4 } }, "--profile r1-zero: the flags change that profile's RL settings");
  // The embedded default's RL stage, now also trainGrpo()'s defaults (TRL's 1e-6, linear, group scaling and 96 tokens were the library's).
  const d = resolveGrpoConfig({ outputDir: "o" });
  assert.deepEqual([d.learningRate, d.schedule, d.scaleRewards, d.maxCompletionLength, d.maxSteps], [1e-3, "constant", "none", 64, 50]);
});

test("the RL settings' disagreements, each settled once (the same in every door)", () => {
  const cases: [path: string, flag: string, text: string, expected: Outcome][] = [
    // 0 turns clipping and checkpoints off, as for the trainer (the pipeline refused 0, trainGrpo() took it)
    ["rl.maxGradNorm", "max-grad-norm", "0", { value: 0 }],
    ["rl.saveEvery", "save-every", "0", { value: 0 }],
    // a group of one has no relative advantage; GRPO samples
    ["rl.numGenerations", "num-generations", "1", { refused: "must be an integer ≥ 2, got 1" }],
    ["rl.temperature", "temperature", "0", { refused: "must be a number > 0, got 0" }],
    // a weight per reward function, and each function once: the pipeline found out only when its RL stage began
    ["rl.rewardWeights", "reward-weights", "1,0.2", { refused: "must be one weight per reward function (1: accuracy), or null, got [1,0.2]" }],
    ["rl.rewardFuncs", "reward-funcs", "accuracy,accuracy", { refused: 'must be a list naming each reward function once, got ["accuracy","accuracy"]' }],
    ["rl.rewardFuncs", "reward-funcs", "accuracy,nope", { refused: 'must be a non-empty list of accuracy, correctness, format, tag_count, reasoning_steps, step_by_step, got "nope"' }],
    ["rl.lossType", "loss-type", "bnpo", { refused: 'must be one of grpo, dr_grpo, dapo, got "bnpo"' }],
  ];
  const dir = mkdtempSync(join(tmpdir(), "openr1-settings-"));
  try {
    for (const [path, flag, text, expected] of cases) {
      const schema = settingLeaves(pipelineConfigSchema).find((l) => l.path.join(".") === path)!.schema;
      const file = join(dir, "config.json");
      writeFileSync(file, JSON.stringify({ rl: { [path.slice(3)]: fromText(schema, text) } }));
      assert.deepEqual(parse(registerGrpoCommands, ["grpo", `--${flag}`, text], (c) => at(grpoCommandConfig(c), path)), expected, `grpo --${flag} ${text}`);
      assert.deepEqual(attempt(() => at(resolveConfig({ overrides: [`${path}=${text}`] }), path)), expected, `--set ${path}=${text}`);
      assert.deepEqual(attempt(() => at(resolveConfig({ file }), path)), expected, `a config file, ${path} ${text}`);
      assert.deepEqual(library(path, fromText(schema, text)), expected, `trainGrpo(), ${path} ${text}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // r1-zero's two weights follow its two reward functions; naming one function there needs one weight.
  assert.deepEqual(parse(registerGrpoCommands, ["grpo", "--profile", "r1-zero", "--reward-funcs", "accuracy"], (c) => grpoCommandConfig(c).rl.rewardWeights),
    { refused: "must be one weight per reward function (1: accuracy), or null, got [1,0.2]" });
  // Boolean settings: --flag, --flag false, --no-flag.
  const mask = (args: string[]) => parse(registerGrpoCommands, ["grpo", ...args], (c) => grpoCommandConfig(c).rl.maskTruncatedCompletions);
  assert.deepEqual([mask([]), mask(["--mask-truncated-completions"]), mask(["--mask-truncated-completions", "false"]), mask(["--no-mask-truncated-completions"])].map((o) => (o as { value: unknown }).value), [false, true, false, false]);
});

test("trainGrpo() and runGrpoJob refuse a wrong setting, or another stage's, before they make or load anything", async () => {
  const call = (config: Record<string, unknown>) =>
    trainGrpo({ model: {} as never, trainable: {} as never, tokenizer: {} as never, train: [], config: { outputDir: "/nonexistent/never-made", ...config } });
  await assert.rejects(call({ numGenerations: 1 }), /^Error: GRPO config: numGenerations must be an integer ≥ 2, got 1$/);
  // The pipeline's switch and runGrpoJob's method are not the trainer's.
  await assert.rejects(call({ ...profiles.default.rl }), /GRPO config: unknown settings "enabled", "method"/);
  await assert.rejects(runGrpoJob({ train: [], model: "/nonexistent/model", grpo: { outputDir: "/nonexistent/never-made", temperature: 0 } }), /^Error: GRPO config: temperature must be a number > 0, got 0$/);
});

test("end to end: `openr1 train --lr 0`, `openr1 run --set train.learningRate=0`, `openr1 evaluate --batch-size 0`, `openr1 serve --max-batch 0` and `openr1 grpo --num-generations 1` refuse with the setting's words", () => {
  const run = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, WANDB_API_KEY: "" } });
  const train = run(["train", "--lr", "0", "--output-dir", "/nonexistent/never-made"]);
  assert.equal(train.status, 1);
  assert.match(train.stderr, /option '--lr <n>' argument '0' is invalid\. train\.learningRate must be a number > 0, got 0/);
  const pipeline = run(["run", "--set", "train.learningRate=0", "--set", "outputDir=/nonexistent/never-made"]);
  assert.equal(pipeline.status, 1);
  assert.match(pipeline.stderr, /openr1: Invalid configuration: train\.learningRate must be a number > 0, got 0/);
  const evaluate = run(["evaluate", "--model", "m", "--data", "d", "--batch-size", "0"]);
  assert.match(evaluate.stderr, /option '--batch-size <n>' argument '0' is invalid\. eval\.batchSize must be an integer ≥ 1, got 0/);
  const serve = run(["serve", "--max-batch", "0"]);
  assert.match(serve.stderr, /option '--max-batch <n>' argument '0' is invalid\. serve\.maxBatch must be an integer ≥ 1, got 0/);
  const grpo = run(["grpo", "--num-generations", "1", "--output-dir", "/nonexistent/never-made"]);
  assert.equal(grpo.status, 1);
  assert.match(grpo.stderr, /option '--num-generations <n>' argument '1' is invalid\. rl\.numGenerations must be an integer ≥ 2, got 1/);
});
