import type { MathExample } from "../data/types.js";
import type { Tracker } from "../tracking/types.js";
import type { TrainerCallback, TrainerState } from "../train/callbacks.js";
import { evaluateModel } from "./model-generator.js";
import type { EvalConfigInput } from "./run.js";

export interface CheckpointEvaluationOptions {
  /** The model the adapters belong to ("tiny-math", a folder, a Hub id). */
  baseModel: string;
  problems: MathExample[];
  config?: EvalConfigInput;
  /** The run's interrupt: a checkpoint written because of it is not evaluated, and an evaluation stops with it. */
  signal?: AbortSignal;
}

/**
 * Accuracy along the way: after the trainer writes a checkpoint — not the last one, which the evaluation of the
 * fine-tuned model covers, nor one written because the run was interrupted — the base model with that checkpoint's
 * adapter answers the problems, and `eval/accuracy`, the step-by-step score and the evaluation's wall time
 * (`eval/checkpoint_runtime`) are logged at the checkpoint's step: the points of the accuracy curve between the base
 * model (step 0) and the fine-tuned one. The evaluation runs on its own copy of the model, read from the checkpoint.
 */
export class CheckpointEvaluation implements TrainerCallback {
  constructor(private readonly tracker: Tracker, private readonly options: CheckpointEvaluationOptions) {}

  async onSave(checkpointDir: string, state: TrainerState): Promise<void> {
    const { baseModel, problems, config, signal } = this.options;
    if (state.globalStep >= state.maxSteps || signal?.aborted) return;
    const step = state.globalStep;
    const r = await evaluateModel({ model: baseModel, adapter: checkpointDir, label: `step ${step}` }, problems, { ...config, signal });
    if (r.interrupted) return;
    this.tracker.log(
      {
        "eval/accuracy": r.summary.accuracy,
        "eval/num_scored": r.summary.scored,
        "eval/rewards/step_by_step": r.summary.meanRewards.stepByStep,
        "eval/checkpoint_runtime": r.summary.seconds,
        "train/global_step": step,
      },
      step,
    );
  }
}
