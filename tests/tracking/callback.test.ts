import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { summarize, type SampleResult } from "../../src/eval/index.js";
import { createTracker, latestTable, readRun, rewriteLogs, tableColumn, trainingArgsConfig, WandbCallback } from "../../src/tracking/index.js";

test("the trainer's options under transformers' TrainingArguments names", () => {
  assert.deepEqual(trainingArgsConfig({ batchSize: 2, gradientAccumulation: 8, learningRate: 1e-4, warmupRatio: 0.1, schedule: "cosine", maxGradNorm: 1, epochs: 1, maxSteps: null, logEvery: 10, seed: 3, trainableTensors: 96 }), {
    per_device_train_batch_size: 2,
    gradient_accumulation_steps: 8,
    learning_rate: 1e-4,
    warmup_ratio: 0.1,
    lr_scheduler_type: "cosine",
    max_grad_norm: 1,
    num_train_epochs: 1,
    max_steps: null,
    logging_steps: 10,
    seed: 3,
    trainable_tensors: 96,
  });
});

test("transformers' rewrite_logs naming", () => {
  assert.deepEqual(rewriteLogs({ loss: 1, eval_loss: 2, test_accuracy: 3, grad_norm: 4 }), {
    "train/loss": 1,
    "eval/loss": 2,
    "test/accuracy": 3,
    "train/grad_norm": 4,
  });
});

test("the callback: config as transformers builds it, end-of-training scalars to the summary, global step as step", async () => {
  const tracker = createTracker({ runsDir: mkdtempSync(join(tmpdir(), "openr1-cb-")), env: {} });
  const cb = new WandbCallback(tracker, { modelConfig: { hidden_size: 8 }, loraConfig: { r: 4 }, dataset: { train: 10 }, numParameters: 1234 });
  const state = { globalStep: 0, maxSteps: 4, epoch: 0 };
  await cb.onTrainBegin({ learningRate: 0.1, hidden_size: 16, gradientAccumulation: 4, numExamples: 10 }, state);
  Object.assign(state, { globalStep: 2, epoch: 0.5 });
  await cb.onLog({ loss: 1.25, learning_rate: 0.05, grad_norm: 2, epoch: 0.5, tokens_per_second: 100, num_tokens: 64 }, state);
  await cb.onEvaluate({ eval_loss: 1.5 }, state);
  Object.assign(state, { globalStep: 4, epoch: 1 });
  await cb.onLog({ train_runtime: 9, train_loss: 1.1, total_flos: 5 }, state);
  // What src/train/trainer.ts passes at the end.
  await cb.onTrainEnd({ train_runtime: 9, train_loss: 1.1, train_tokens_per_second: 50, global_step: 4, eval_loss: 1.4 }, state);
  await cb.finish();
  const run = readRun(tracker.runDir!);
  assert.deepEqual(run.config, {
    peft_config: { default: { r: 4 } },
    hidden_size: 16, // training args win over the model config, as in transformers' combined dict
    learning_rate: 0.1,
    gradient_accumulation_steps: 4,
    num_examples: 10,
    dataset: { train: 10 },
    "model/num_parameters": 1234,
  });
  assert.equal(run.history.length, 1, "end-of-training scalars are not history rows");
  const { _runtime, _timestamp, ...row } = run.history[0];
  assert.deepEqual(row, {
    "train/loss": 1.25,
    "train/learning_rate": 0.05,
    "train/grad_norm": 2,
    "train/epoch": 0.5,
    "train/tokens_per_second": 100,
    "train/num_tokens": 64,
    "train/global_step": 2,
    "eval/loss": 1.5,
    _step: 2,
  });
  assert.equal(run.summary.train_runtime, 9);
  assert.equal(run.summary.train_loss, 1.1);
  assert.equal(run.summary.total_flos, 5);
  assert.equal(run.summary["train/global_step"], 4);
  assert.equal(run.summary.train_tokens_per_second, 50);
  assert.equal(run.summary["eval/loss"], 1.4);
  assert.equal(run.summary.global_step, undefined);
});

function sample(problemType: string, correct: boolean | null, reasoningSteps: number, numTokens: number): SampleResult {
  return {
    id: `${problemType}-${numTokens}`,
    problem: `a ${problemType} problem`,
    problemType,
    gold: "4",
    prediction: "<think>2+2</think> \\boxed{4}",
    extracted: correct === null ? null : correct ? "4" : "5",
    status: correct === null ? "unscorable" : correct ? "correct" : "incorrect",
    correct,
    timedOut: false,
    rewards: { correctness: correct === null ? null : Number(correct), accuracy: correct === null ? null : Number(correct), format: 1, tagCount: 0.5, reasoningSteps, equations: 1, stepByStep: 0 },
    steps: 1,
    numTokens,
    finishReason: "eos",
    hasBoxed: true,
    truncated: false,
  };
}

test("the evaluation stage's result is logged under eval/ with open-r1's reward names and a sample table", async () => {
  const tracker = createTracker({ runsDir: mkdtempSync(join(tmpdir(), "openr1-cb-")), env: {} });
  const cb = new WandbCallback(tracker);
  await cb.onLog({ loss: 1 }, { globalStep: 7, maxSteps: 7, epoch: 1 });
  const samples = [sample("Algebra", true, 1, 10), sample("Algebra", false, 0, 30), sample("Geometry", true, 1 / 3, 20), sample("Geometry", null, 0, 40)];
  cb.logEvalResult({ samples, summary: summarize("tuned", samples, 12) });
  await cb.finish();
  const run = readRun(tracker.runDir!);
  const last = run.history[run.history.length - 1];
  assert.equal(last._step, 7, "evaluation is logged at the last training step");
  assert.equal(last["eval/accuracy"], 2 / 3, "unscorable samples are outside the denominator");
  assert.equal(last["eval/accuracy/Algebra"], 0.5);
  assert.equal(last["eval/accuracy/Geometry"], 1);
  assert.equal(last["eval/rewards/reasoning_steps"], (1 + 0 + 1 / 3 + 0) / 4);
  assert.equal(last["eval/rewards/tag_count"], 0.5);
  assert.equal(last["eval/rewards/accuracy"], 2 / 3);
  assert.equal(last["eval/runtime"], 12);
  assert.equal(last["eval/num_unscorable"], 1);
  assert.equal(run.summary["eval/accuracy"], 2 / 3);
  const table = latestTable(run, "eval/samples")!;
  assert.deepEqual(tableColumn(table, "correct"), [true, false, true, null]);
  assert.deepEqual(tableColumn(table, "extracted"), ["4", "5", "4", ""]);
  assert.deepEqual(tableColumn(table, "step_score"), [1, 0, 1 / 3, 0]);
  assert.deepEqual(tableColumn(table, "response_length"), [10, 30, 20, 40]);
  assert.deepEqual(tableColumn(table, "reward/accuracy"), [1, 0, 1, null]);
});
