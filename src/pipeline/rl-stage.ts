import { join } from "node:path";
import type { DatasetSplit } from "../data/types.js";
import type { EvalResult } from "../eval/index.js";
import { GrpoProgressBar } from "../rl/display.js";
import { runGrpoJob } from "../rl/job.js";
import type { GrpoCallback } from "../rl/trainer.js";
import { GrpoTrackingCallback } from "../rl/tracking.js";
import type { Tracker } from "../tracking/index.js";
import { latestCheckpoint } from "../train/checkpoint.js";
import { grpoConfigOf, type PipelineConfig } from "./config.js";

/**
 * What the RL stage changed: the SFT model's accuracy → the RL model's; the training reward and completion length,
 * each the mean over the first and the last quarter of the steps (a batch's mean reward depends on which problems
 * it drew: single steps are noisy).
 */
export interface RlSummary {
  accuracy: { sft: number; rl: number };
  stepByStep: { sft: number; rl: number };
  reward: { first: number; last: number };
  completionLength: { first: number; last: number };
  steps: number;
}

export interface RlStageResult {
  status: "completed" | "interrupted";
  checkpointsDir: string;
  adapterDir?: string;
  mergedDir?: string;
  logHistory: Record<string, number>[];
  evaluation?: EvalResult;
}

export interface RlStageOptions {
  config: PipelineConfig;
  runDir: string;
  split: DatasetSplit;
  /** The SFT model (HF layout): the starting policy and, with LoRA, the KL reference. */
  startModelDir: string;
  tracker: Tracker;
  /** The SFT stage's last step: GRPO's rows are logged after it, under `rl/`. */
  stepOffset: number;
  progress: boolean;
  signal?: AbortSignal;
  log: (line: string) => void;
  callbacks?: GrpoCallback[];
  /** Evaluates a model folder under `label` (resumable, saved with the run's other evaluations); undefined when interrupted. */
  evaluate(label: string, modelDir: string): Promise<EvalResult | undefined>;
}

/** The RL checkpoint folder of a pipeline run. */
export const rlCheckpointsDir = (runDir: string) => join(runDir, "rl");

/**
 * The pipeline's last training stage: GRPO (src/rl) on the SFT model with the run's training problems, resumed from
 * its latest checkpoint, then the greedy evaluation of the result on the same held-out problems as SFT's.
 */
export async function runRlStage(o: RlStageOptions): Promise<RlStageResult> {
  const { config, log } = o;
  const rl = config.rl;
  const checkpointsDir = rlCheckpointsDir(o.runDir);
  const checkpoint = latestCheckpoint(checkpointsDir);
  if (checkpoint) log(`resuming GRPO from ${checkpoint.dir}`);
  const job = await runGrpoJob({
    train: o.split.train,
    model: o.startModelDir,
    modelOptions: { progress: o.progress },
    method: rl.method,
    lora: config.lora,
    grpo: grpoConfigOf(config, checkpointsDir),
    resumeFrom: checkpoint ? "latest" : undefined,
    callbacks: [new GrpoTrackingCallback(o.tracker, { prefix: "rl/", stepOffset: o.stepOffset }), ...(o.progress ? [new GrpoProgressBar()] : []), ...(o.callbacks ?? [])],
    signal: o.signal,
    onReady: (info) => log(`GRPO on ${info.modelDir}: ${info.parameters.text}; ${rl.promptsPerStep} prompts × ${rl.numGenerations} completions per step, ${rl.maxSteps} steps, rewards ${rl.rewardFuncs.join(", ")}`),
  });
  job.lora?.dispose();
  job.model.dispose();
  if (job.status === "aborted") {
    log(`Interrupted at GRPO step ${job.globalStep}/${job.maxSteps}; checkpoint ${job.lastCheckpoint}. Run the same command again to resume.`);
    return { status: "interrupted", checkpointsDir, logHistory: job.logHistory };
  }
  const evaluation = await o.evaluate("rl", job.tunedDir!);
  return { status: evaluation ? "completed" : "interrupted", checkpointsDir, adapterDir: job.adapterDir, mergedDir: job.tunedDir, logHistory: job.logHistory, evaluation };
}

/** The RL stage's numbers for the closing summary. */
export function rlSummary(logHistory: Record<string, number>[], sft: EvalResult["summary"], rl: EvalResult["summary"]): RlSummary {
  const rows = logHistory.filter((h) => "reward" in h);
  const q = Math.max(1, Math.floor(rows.length / 4));
  const mean = (part: Record<string, number>[], k: string) => part.reduce((a, h) => a + h[k]!, 0) / part.length;
  const quarters = (k: string) => (rows.length ? { first: mean(rows.slice(0, q), k), last: mean(rows.slice(-q), k) } : { first: NaN, last: NaN });
  return {
    accuracy: { sft: sft.accuracy, rl: rl.accuracy },
    stepByStep: { sft: sft.meanRewards.stepByStep, rl: rl.meanRewards.stepByStep },
    reward: quarters("reward"),
    completionLength: quarters("completions/mean_length"),
    steps: logHistory.at(-1)?.step ?? 0,
  };
}
