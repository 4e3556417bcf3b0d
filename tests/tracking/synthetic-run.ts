import { seededRandom } from "../../src/rng.js";
import { createTracker, type TrackerOptions } from "../../src/tracking/tracker.js";
import type { EvaluationSample, FinishResult } from "../../src/tracking/types.js";
import { WandbCallback } from "../../src/tracking/wandb-callback.js";

export interface SyntheticRunOptions extends TrackerOptions {
  steps?: number;
  loggingSteps?: number;
  evalSteps?: number;
  samples?: number;
  seed?: number;
}

const PROBLEM_TYPES = ["Algebra", "Geometry", "Number Theory", "Combinatorics", "Calculus"];

/**
 * Drives a WandbCallback through a made-up training run (warmup + cosine learning rate, a decaying noisy
 * loss, evaluations, a sample table) without a model: the run directory the report notebook and the
 * tracking tests use until the real pipeline has produced one. Its config says `synthetic: true`.
 * Deterministic for a given seed.
 */
export async function simulateTrainingRun(options: SyntheticRunOptions = {}): Promise<FinishResult & { id: string }> {
  const { steps = 60, loggingSteps = 5, evalSteps = 20, samples = 30, seed = 0, ...trackerOptions } = options;
  const rand = seededRandom(seed);
  const tracker = createTracker({ name: "synthetic-run", ...trackerOptions });
  const callback = new WandbCallback(tracker, {
    modelConfig: { model_type: "qwen2", hidden_size: 896, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936 },
    loraConfig: { r: 16, lora_alpha: 32, lora_dropout: 0.05, target_modules: ["q_proj", "k_proj", "v_proj", "o_proj"] },
    dataset: { name: "synthetic (no real data)", train_examples: 960, validation_examples: 48 },
    numParameters: 494_032_768,
    numTrainableParameters: 2_162_688,
  });
  const peakLr = 2e-4;
  const warmup = Math.max(1, Math.round(steps * 0.1));
  const lr = (s: number) => (s < warmup ? (peakLr * s) / warmup : 0.5 * peakLr * (1 + Math.cos((Math.PI * (s - warmup)) / (steps - warmup))));
  const state = { globalStep: 0, maxSteps: steps, epoch: 0 };
  await callback.onTrainBegin(
    { synthetic: true, learning_rate: peakLr, max_steps: steps, warmup_steps: warmup, lr_scheduler_type: "cosine", logging_steps: loggingSteps, eval_steps: evalSteps, seed },
    state,
  );
  let numTokens = 0;
  for (let step = 1; step <= steps; step++) {
    state.globalStep = step;
    state.epoch = step / steps;
    numTokens += 2000 + Math.floor(rand() * 500);
    if (step % loggingSteps === 0) {
      await callback.onLog(
        {
          loss: 0.6 + 0.9 * Math.exp(-step / (steps / 3)) + 0.05 * (rand() - 0.5),
          learning_rate: lr(step),
          grad_norm: 0.5 + 1.5 * Math.exp(-step / (steps / 4)) + 0.2 * rand(),
          epoch: state.epoch,
          tokens_per_second: 900 + 100 * rand(),
          num_tokens: numTokens,
        },
        state,
      );
    }
    if (step % evalSteps === 0) await callback.onEvaluate({ eval_loss: 0.7 + 0.8 * Math.exp(-step / (steps / 3)) }, state);
  }
  await callback.onSave("checkpoints/checkpoint-final", state);
  await callback.onTrainEnd({ train_runtime: 123.4, train_loss: 0.9, train_samples_per_second: 7.8, train_steps_per_second: 0.49 }, state);

  const evalSamples: EvaluationSample[] = Array.from({ length: samples }, (_, i) => {
    const a = 2 + Math.floor(rand() * 40);
    const b = 2 + Math.floor(rand() * 40);
    const correct = rand() < 0.55;
    const answer = correct ? a * b : a * b + 1 + Math.floor(rand() * 5);
    const format = rand() < 0.9 ? 1 : 0;
    return {
      problem: `What is ${a} × ${b}?`,
      problemType: PROBLEM_TYPES[i % PROBLEM_TYPES.length],
      gold: String(a * b),
      prediction: `<think>${a} × ${b} = ${answer}</think>\nThe answer is $\\boxed{${answer}}$.`,
      extracted: String(answer),
      correct,
      stepScore: Math.round(rand() * 3) / 3,
      responseLength: 40 + Math.floor(rand() * 400),
      rewards: { accuracy: correct ? 1 : 0, format },
    };
  });
  const byType: Record<string, number> = {};
  for (const t of PROBLEM_TYPES) {
    const ofType = evalSamples.filter((s) => s.problemType === t);
    byType[t] = ofType.filter((s) => s.correct).length / Math.max(1, ofType.length);
  }
  const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / Math.max(1, xs.length);
  callback.logEvaluation(
    {
      accuracy: mean(evalSamples.map((s) => (s.correct ? 1 : 0))),
      rewardMeans: { accuracy: mean(evalSamples.map((s) => Number(s.rewards!.accuracy))), format: mean(evalSamples.map((s) => Number(s.rewards!.format))) },
      accuracyByProblemType: byType,
      metrics: { mean_response_length: mean(evalSamples.map((s) => s.responseLength!)) },
    },
    evalSamples,
  );
  return { ...(await callback.finish()), id: tracker.id };
}
