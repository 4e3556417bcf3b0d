import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { generateProblems, solutionText } from "../../src/data/index.js";
import type { MathExample } from "../../src/data/types.js";
import { LoraModel } from "../../src/model/lora.js";
import { TINY_MATH_MODEL_DIR } from "../../src/model/load.js";
import { Qwen2Model } from "../../src/model/qwen2.js";
import { trainGrpo, type GrpoCallback, type GrpoConfig, type GrpoOptions } from "../../src/rl/trainer.js";
import { loadTokenizer } from "../../src/tokenizer/index.js";

await selectBackend();

// The shipped base model and generated problems, as the pipeline uses them. Asked in a chat, the base model answers at
// once ("The answer is \boxed{N}.") with a near-uniform first digit: a reward for answers that start with 1 is one it
// earns about a tenth of the time, and GRPO can raise it within a few steps.
const tokenizer = loadTokenizer(TINY_MATH_MODEL_DIR);
const problems: MathExample[] = [...generateProblems({ seed: 5, pool: "finetune", count: 40 })].map((p, i) => ({
  id: `g${i}`, problem: p.problem, solution: solutionText(p), answer: p.answer, problemType: p.problemType, questionType: "math-word-problem", source: "test",
}));
const TIMED = new Set(["step_time", "sampled_tokens_per_second", "train_tokens_per_second"]);
const startsWithOne = (completion: string) => (/\\boxed\{1/.test(completion) ? 1 : 0);

// TRL's group scaling of the advantages (the pipeline's default is none): the rare reward is then learnt in a few steps.
const base: Partial<GrpoConfig> = {
  promptsPerStep: 4, numGenerations: 8, maxCompletionLength: 16, learningRate: 3e-3, schedule: "constant", rewardFuncs: ["starts_with_1"],
  saveEvery: 0, logEvery: 1, microBatchSize: 16, seed: 5, scaleRewards: "group",
};

async function withRun<T>(body: (dir: string, model: Qwen2Model, lora: LoraModel) => Promise<T>, lora = { r: 8, alpha: 16, dropout: 0.1 }): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "grpo-"));
  const model = await Qwen2Model.fromDirectory(TINY_MATH_MODEL_DIR);
  const adapters = LoraModel.create(model, lora, 1);
  try {
    return await body(dir, model, adapters);
  } finally {
    adapters.dispose();
    model.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

const options = (dir: string, model: Qwen2Model, lora: LoraModel, config: Partial<GrpoConfig>, extra: Partial<GrpoOptions> = {}): GrpoOptions => ({
  model, trainable: lora, tokenizer, train: problems, config: { ...base, ...config, outputDir: dir }, rewardFunctions: { starts_with_1: startsWithOne }, ...extra,
});

test("a short GRPO run on the shipped model raises its mean reward, and leaks no tensors", () =>
  withRun(async (dir, model, lora) => {
    const counts: number[] = [];
    const r = await trainGrpo(options(dir, model, lora, { maxSteps: 12 }, { callbacks: [{ onStepEnd: () => void counts.push(tf.memory().numTensors) }] }));
    assert.equal(r.status, "completed");
    assert.equal(r.steps.length, 12);
    const reward = r.steps.map((s) => s.metrics.reward!);
    const first = reward.slice(0, 3).reduce((a, b) => a + b, 0) / 3;
    const last = reward.slice(-3).reduce((a, b) => a + b, 0) / 3;
    assert.ok(first < 0.35, `the base model earns this reward rarely at first (${first})`);
    assert.ok(last > first + 0.3, `the mean reward rises: first three steps ${first.toFixed(3)}, last three ${last.toFixed(3)}`);
    assert.ok(new Set(counts).size === 1, `tf.memory().numTensors is flat across steps: ${counts.join(", ")}`);
    // TRL's metric names, each step.
    for (const k of ["loss", "grad_norm", "reward", "reward_std", "rewards/starts_with_1/mean", "rewards/starts_with_1/std", "frac_reward_zero_std",
      "completions/mean_length", "completions/clipped_ratio", "completions/mean_terminated_length", "entropy", "clip_ratio/region_mean", "clip_ratio/low_min", "clip_ratio/high_max"]) {
      assert.ok(Number.isFinite(r.steps[0]!.metrics[k]), `${k} is logged`);
    }
    assert.equal(r.steps[0]!.metrics["clip_ratio/region_mean"], 0, "on-policy (μ = 1) nothing is clipped");
    assert.equal(r.logHistory.length, 12);
  }));

test("resuming from a checkpoint taken mid-way through a generation batch (μ = 2, dropout on) continues bit-identically", () =>
  withRun(async (dir, model, lora) => {
    const config = { maxSteps: 4, numIterations: 2, saveEvery: 1, keepCheckpoints: 10, promptsPerStep: 2, numGenerations: 4, beta: 0.1 };
    const straight = await trainGrpo(options(dir, model, lora, config, { reference: "adapters-off" }));
    const want = new Map([...lora.trainableVariables()].map(([n, v]) => [n, [...v.dataSync()]]));
    assert.ok(existsSync(join(dir, "checkpoint-1", "generation_batch.json")), "a mid-batch checkpoint keeps its generation batch");
    assert.ok(!existsSync(join(dir, "checkpoint-2", "generation_batch.json")), "a checkpoint at a batch boundary does not need it");
    // A second run from step 1 of the first one, in a folder of its own.
    const again = mkdtempSync(join(tmpdir(), "grpo-resume-"));
    try {
      cpSync(join(dir, "checkpoint-1"), join(again, "checkpoint-1"), { recursive: true });
      // (the weights are overwritten from the checkpoint: start from different ones to prove it)
      for (const v of lora.trainableVariables().values()) v.assign(tf.zerosLike(v));
      const resumed = await trainGrpo(options(again, model, lora, config, { reference: "adapters-off", resumeFrom: "latest" }));
      assert.equal(resumed.steps.length, 3);
      // Everything but the clock: rewards, lengths, losses, norms, KL and clip ratios of the steps on the saved batch.
      const untimed = (h: Record<string, number>[]) => h.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !TIMED.has(k))));
      assert.deepEqual(untimed(resumed.logHistory), untimed(straight.logHistory));
      for (const [n, v] of lora.trainableVariables()) assert.deepEqual([...v.dataSync()], want.get(n), `${n} is bit-identical`);
      assert.ok(straight.steps[1]!.metrics["clip_ratio/region_mean"]! >= 0 && straight.steps[0]!.metrics.kl! < 1e-6, "KL to the adapters-off reference starts at 0");
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  }));

test("a stop signal ends the run after the current step, checkpointed; a resume with other settings is refused by name", () =>
  withRun(async (dir, model, lora) => {
    const controller = new AbortController();
    const r = await trainGrpo(options(dir, model, lora, { maxSteps: 6, saveEvery: 5 }, { signal: controller.signal, callbacks: [{ onStepEnd: (_l, s) => void (s.globalStep === 2 && controller.abort()) }] }));
    assert.equal(r.status, "aborted");
    assert.equal(r.globalStep, 2);
    assert.ok(readdirSync(dir).includes("checkpoint-2"));
    assert.equal(r.adapterDir, undefined, "no final outputs for an interrupted run");
    await assert.rejects(trainGrpo(options(dir, model, lora, { maxSteps: 6, saveEvery: 5, temperature: 0.7 }, { resumeFrom: "latest" })), /another GRPO setup \(temperature 1 here 0.7/);
  }));

test("a checkpoint folder in use by a running GRPO is refused at once, and released when it ends", () =>
  withRun(async (dir, model, lora) => {
    let second: unknown;
    // The first waits at its first step until the second has tried.
    const race: GrpoCallback = { onStepEnd: async (_l, s) => {
      if (s.globalStep === 1) second = await trainGrpo(options(dir, model, lora, { maxSteps: 1 })).catch((e: Error) => e);
    } };
    const first = await trainGrpo(options(dir, model, lora, { maxSteps: 2 }, { callbacks: [race] }));
    assert.equal(first.status, "completed");
    assert.match(String(second), /in use by process \d+/);
    assert.ok(!existsSync(join(dir, ".lock")), "the lock is released when training ends");
  }));

test("masking truncated completions: when every completion is cut, nothing enters the loss and the gradient is zero", () =>
  withRun(async (dir, model, lora) => {
    const r = await trainGrpo(options(dir, model, lora, { maxSteps: 1, maxCompletionLength: 3, maskTruncatedCompletions: true }));
    const m = r.steps[0]!.metrics;
    assert.equal(m["completions/clipped_ratio"], 1);
    assert.equal(m["completions/max_length"], 3);
    assert.equal(r.steps[0]!.loss, 0);
    assert.equal(r.steps[0]!.gradNorm, 0);
  }));

test("settings that cannot work are refused, naming the setting", () =>
  withRun(async (dir, model, lora) => {
    const run = (c: Partial<GrpoConfig>, extra: Partial<GrpoOptions> = {}) => trainGrpo(options(dir, model, lora, { maxSteps: 1, ...c }, extra));
    // The words of the settings (src/rl/settings.ts), as `openr1 grpo` and `openr1 run --set rl.…` say them.
    await assert.rejects(run({ numGenerations: 1 }), /^Error: GRPO config: numGenerations must be an integer ≥ 2, got 1$/);
    await assert.rejects(run({ temperature: 0 }), /temperature must be a number > 0, got 0/);
    // The caller's own reward functions are names it may list beside open-r1's.
    await assert.rejects(run({ rewardFuncs: ["accuracy", "nope"] }), /rewardFuncs must be a non-empty list of accuracy, .*, step_by_step, starts_with_1, got "nope"/);
    await assert.rejects(run({ rewardFuncs: ["accuracy", "accuracy"] }), /rewardFuncs must be a list naming each reward function once/);
    await assert.rejects(run({ rewardFuncs: ["accuracy", "format"], rewardWeights: [1] }), /rewardWeights must be one weight per reward function \(2: accuracy, format\), or null, got \[1\]/);
    await assert.rejects(run({ lossType: "bnpo" as "dapo" }), /lossType must be one of grpo, dr_grpo, dapo/);
    await assert.rejects(run({ beta: 0.04 }), /beta is not 0, so a reference model is needed/);
  }));
