import type { TrainerCallback, TrainerState } from "../train/callbacks.js";
import { fromEvalResult, type EvalResultLike } from "./eval-result.js";
import type { EvaluationSample, EvaluationSummary, Table, Tracker } from "./types.js";

/** What transformers' WandbCallback puts in the run config besides the training arguments. */
export interface RunDescription {
  /** The model's config (Qwen2 config.json fields); merged at the top level, as transformers does. */
  modelConfig?: Record<string, unknown>;
  /** The LoRA config; stored as `peft_config: {default: …}`, as transformers does for a PEFT model. */
  loraConfig?: Record<string, unknown>;
  /** Dataset and split info (name, sizes, filters); stored under `dataset`. */
  dataset?: Record<string, unknown>;
  /** Stored as `model/num_parameters`. */
  numParameters?: number;
  /** Trainable (LoRA) parameters; stored as `model/num_trainable_parameters`. */
  numTrainableParameters?: number;
}

// transformers' WandbCallback moves these end-of-training values to the summary instead of the history.
const SINGLE_VALUE_SCALARS = new Set(["train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos"]);

// The trainer's (src/train TrainerConfig) option names → transformers' TrainingArguments names, so runs read the same in W&B.
const TRAINING_ARG_NAMES: Record<string, string> = {
  outputDir: "output_dir",
  batchSize: "per_device_train_batch_size",
  evalBatchSize: "per_device_eval_batch_size",
  gradientAccumulation: "gradient_accumulation_steps",
  learningRate: "learning_rate",
  weightDecay: "weight_decay",
  beta1: "adam_beta1",
  beta2: "adam_beta2",
  eps: "adam_epsilon",
  warmupRatio: "warmup_ratio",
  warmupSteps: "warmup_steps",
  schedule: "lr_scheduler_type",
  minLrRatio: "min_lr_rate",
  maxGradNorm: "max_grad_norm",
  epochs: "num_train_epochs",
  maxSteps: "max_steps",
  logEvery: "logging_steps",
  evalEvery: "eval_steps",
  saveEvery: "save_steps",
  keepCheckpoints: "save_total_limit",
};

/** Training options under transformers' TrainingArguments names; other camelCase keys become snake_case. */
export function trainingArgsConfig(config: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) out[TRAINING_ARG_NAMES[k] ?? k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
  return out;
}

/** transformers' rewrite_logs: eval_x → eval/x, test_x → test/x, anything else → train/x. */
export function rewriteLogs(logs: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(logs)) {
    if (k.startsWith("eval_")) out[`eval/${k.slice(5)}`] = v;
    else if (k.startsWith("test_")) out[`test/${k.slice(5)}`] = v;
    else out[`train/${k}`] = v;
  }
  return out;
}

export const EVAL_SAMPLE_COLUMNS = ["problem", "problem_type", "gold", "prediction", "extracted", "correct", "step_score", "response_length"];

/**
 * The trainer's W&B integration, logging what transformers' WandbCallback logs under the same names, with
 * `train/global_step` as the step. Every hook only writes the local copy and queues the upload, so it
 * returns at once. The pipeline calls `logEvaluation` after evaluating and `finish` at the very end.
 */
export class WandbCallback implements TrainerCallback {
  private globalStep = 0;

  constructor(readonly tracker: Tracker, private readonly description: RunDescription = {}) {}

  /** Records the run config: `config` is the trainer's options (renamed to TrainingArguments names). */
  onTrainBegin(config: Record<string, unknown>, state: TrainerState): void {
    const d = this.description;
    this.globalStep = state.globalStep;
    this.tracker.updateConfig({
      ...(d.loraConfig ? { peft_config: { default: d.loraConfig } } : {}),
      ...d.modelConfig,
      ...trainingArgsConfig(config),
      ...(d.dataset ? { dataset: d.dataset } : {}),
      ...(d.numParameters !== undefined ? { "model/num_parameters": d.numParameters } : {}),
      ...(d.numTrainableParameters !== undefined ? { "model/num_trainable_parameters": d.numTrainableParameters } : {}),
    });
  }

  onLog(logs: Record<string, number>, state: TrainerState): void {
    const history: Record<string, number> = {};
    const summary: Record<string, number> = {};
    for (const [k, v] of Object.entries(logs)) (SINGLE_VALUE_SCALARS.has(k) ? summary : history)[k] = v;
    if (Object.keys(summary).length > 0) this.tracker.setSummary(summary);
    if (Object.keys(history).length > 0) this.logAt(rewriteLogs(history), state);
  }

  onEvaluate(metrics: Record<string, number>, state: TrainerState): void {
    this.logAt(rewriteLogs(metrics), state);
  }

  onSave(checkpointDir: string, state: TrainerState): void {
    this.tracker.setSummary({ "train/last_checkpoint": checkpointDir, "train/last_checkpoint_step": state.globalStep });
  }

  /** End-of-training values go to the summary: `train_*` (train_runtime, train_loss, …) as transformers names them, the rest rewritten (eval_loss → eval/loss). */
  onTrainEnd(summary: Record<string, number>, state: TrainerState): void {
    this.globalStep = state.globalStep;
    const asIs: Record<string, number> = {};
    const rest: Record<string, number> = {};
    for (const [k, v] of Object.entries(summary)) ((SINGLE_VALUE_SCALARS.has(k) || k.startsWith("train_")) ? asIs : rest)[k] = v;
    const rewritten = rewriteLogs(rest);
    delete rewritten["train/global_step"];
    this.tracker.setSummary({ ...asIs, ...rewritten, "train/global_step": state.globalStep });
  }

  /**
   * Logs evaluation results at the last training step: `eval/accuracy`, `eval/rewards/<name>` (means),
   * `eval/accuracy/<problem_type>`, `eval/<metric>`, the `eval/samples` table and the same values in the summary.
   */
  logEvaluation(summary: EvaluationSummary, samples: EvaluationSample[], step = this.globalStep, prefix = "eval"): void {
    const values = evaluationValues(summary, samples.length, prefix);
    this.tracker.log({ ...values, "train/global_step": step }, step);
    this.tracker.logTable(`${prefix}/samples`, evaluationTable(samples), step);
    this.tracker.setSummary(values);
  }

  /**
   * `logEvaluation` for the evaluation stage's result (src/eval `EvalResult`). `prefix` "eval_base" records the
   * base model's evaluation next to the fine-tuned model's (at step 0: the model before its first update).
   */
  logEvalResult(result: EvalResultLike, step = this.globalStep, prefix = "eval"): void {
    const { summary, samples } = fromEvalResult(result);
    this.logEvaluation(summary, samples, step, prefix);
  }

  /** An evaluation's values in the summary only (no history row): for one made after later steps were logged. */
  summarizeEvalResult(result: EvalResultLike, prefix = "eval"): void {
    const { summary, samples } = fromEvalResult(result);
    this.tracker.setSummary(evaluationValues(summary, samples.length, prefix));
  }

  finish(options?: { exitCode?: number; timeoutMs?: number }) {
    return this.tracker.finish(options);
  }

  private logAt(values: Record<string, number>, state: TrainerState): void {
    this.globalStep = state.globalStep;
    this.tracker.log({ ...values, "train/global_step": state.globalStep }, state.globalStep);
  }
}

/** `<prefix>/accuracy`, `<prefix>/rewards/<name>`, `<prefix>/accuracy/<problem_type>`, `<prefix>/<metric>`. */
function evaluationValues(summary: EvaluationSummary, numSamples: number, prefix: string): Record<string, number> {
  const values: Record<string, number> = { [`${prefix}/accuracy`]: summary.accuracy, [`${prefix}/num_samples`]: numSamples };
  for (const [k, v] of Object.entries(summary.rewardMeans ?? {})) values[`${prefix}/rewards/${k}`] = v;
  for (const [k, v] of Object.entries(summary.accuracyByProblemType ?? {})) values[`${prefix}/accuracy/${k}`] = v;
  for (const [k, v] of Object.entries(summary.metrics ?? {})) values[`${prefix}/${k}`] = v;
  return values;
}

/** The `eval/samples` table: fixed columns, then one `reward/<name>` column per reward seen. */
export function evaluationTable(samples: EvaluationSample[]): Table {
  const rewardNames = [...new Set(samples.flatMap((s) => Object.keys(s.rewards ?? {})))];
  return {
    columns: [...EVAL_SAMPLE_COLUMNS, ...rewardNames.map((r) => `reward/${r}`)],
    data: samples.map((s) => [
      s.problem,
      s.problemType ?? "",
      s.gold,
      s.prediction,
      s.extracted,
      s.correct,
      s.stepScore ?? null,
      s.responseLength ?? null,
      ...rewardNames.map((r) => s.rewards?.[r] ?? null),
    ]),
  };
}
