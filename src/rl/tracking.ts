import type { MathExample } from "../data/types.js";
import type { TrainerState } from "../train/callbacks.js";
import { trainingArgsConfig } from "../tracking/wandb-callback.js";
import type { Table, Tracker } from "../tracking/types.js";
import type { GenerationBatch, GrpoCallback } from "./trainer.js";

export interface GrpoTrackingOptions {
  /** Prefix of every logged key: "train/" as TRL's GRPOTrainer in W&B (default), or e.g. "rl/" after an SFT stage in the same run. */
  prefix?: string;
  /** Added to the GRPO step to make the W&B step (the steps of an earlier stage logged in the same run). */
  stepOffset?: number;
  /** Also logged under `<prefix>completions`: the last generation batch as a table at each log. */
  logCompletions?: boolean;
  /** Merged into the run config under `grpo` (model, dataset, …). */
  description?: Record<string, unknown>;
}

/** TRL's completions table: step, prompt, completion, one column per reward function, advantage. */
export function completionsTable(batch: GenerationBatch, examples: MathExample[], rewardNames: readonly string[], step: number): Table {
  return {
    columns: ["step", "prompt", "completion", ...rewardNames, "reward", "advantage"],
    data: batch.completions.map((c) => [step, examples[c.example]!.problem, c.text, ...c.rewards, Number.isNaN(c.reward) ? null : c.reward, c.advantage]),
  };
}

/**
 * GRPO's W&B integration: what TRL's GRPOTrainer logs, under its names (`train/reward`, `train/rewards/<f>/mean`,
 * `train/completions/mean_length`, `train/kl`, `train/clip_ratio/region_mean`, `train/entropy`, …) with
 * `train/global_step`, and the `completions` table. Every hook only writes the local record and queues the upload.
 */
export class GrpoTrackingCallback implements GrpoCallback {
  private readonly prefix: string;
  private readonly offset: number;
  private batch?: GenerationBatch;
  private examples: MathExample[] = [];
  private rewardNames: string[] = [];

  constructor(readonly tracker: Tracker, private readonly options: GrpoTrackingOptions = {}) {
    this.prefix = options.prefix ?? "train/";
    this.offset = options.stepOffset ?? 0;
  }

  onTrainBegin(config: Record<string, unknown>): void {
    this.rewardNames = (config.rewardFuncs as string[] | undefined) ?? [];
    this.tracker.updateConfig({ grpo: { ...trainingArgsConfig(config), ...this.options.description } });
  }

  onGenerationBatch(batch: GenerationBatch, examples: MathExample[]): void {
    this.batch = batch;
    this.examples = examples;
  }

  onLog(logs: Record<string, number>, state: TrainerState): void {
    const step = this.offset + state.globalStep;
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(logs)) values[`${this.prefix}${k}`] = v;
    this.tracker.log({ ...values, [`${this.prefix}global_step`]: state.globalStep }, step);
    if ((this.options.logCompletions ?? true) && this.batch) {
      this.tracker.logTable(`${this.prefix}completions`, completionsTable(this.batch, this.examples, this.rewardNames, state.globalStep), step);
    }
  }

  onSave(checkpointDir: string, state: TrainerState): void {
    this.tracker.setSummary({ [`${this.prefix}last_checkpoint`]: checkpointDir, [`${this.prefix}last_checkpoint_step`]: state.globalStep });
  }

  onTrainEnd(summary: Record<string, number>, state: TrainerState): void {
    const out: Record<string, number> = { [`${this.prefix}global_step`]: state.globalStep };
    for (const [k, v] of Object.entries(summary)) if (k !== "global_step") out[`${this.prefix}${k}`] = v;
    this.tracker.setSummary(out);
  }
}
