import { basename } from "node:path";

/**
 * The settings a resume may change when the change is accepted explicitly (`allowChanges`, `--allow-change`): they
 * shape the updates, not which batches the steps see, so the data order and dropout masks go on as before.
 */
export const RESUME_CHANGEABLE = ["learningRate", "maxGradNorm"] as const;
export type ResumeChangeable = (typeof RESUME_CHANGEABLE)[number];

/** A change of settings accepted on a resume, recorded in every later checkpoint's trainer_state.json. */
export interface ResumeChange {
  /** The checkpoint's step the run resumed from. */
  step: number;
  from: Record<string, unknown>;
  to: Record<string, unknown>;
}

/** Whether a kept checkpoint can be resumed from after a divergence, and why. */
export interface CheckpointVerdict {
  dir: string;
  step: number;
  usable: boolean;
  why: string;
}

/**
 * Thrown when the loss or the gradient norm is NaN/Inf; no update was applied and no checkpoint written. The kept
 * checkpoints were checked, newest first, until one can be resumed from: its weights and optimizer state are finite
 * and the step after it has a finite loss and gradient norm (a checkpoint holding the weights that led to the
 * divergence fails that, whatever the learning rate: the step's loss does not depend on it).
 */
export class TrainingDivergedError extends Error {
  readonly usableCheckpoint: string | undefined;

  constructor(readonly step: number, readonly value: number, readonly lastCheckpoint: string | undefined, readonly checked: CheckpointVerdict[] = []) {
    const usable = checked.find((c) => c.usable);
    const lines = [`Training stopped at step ${step}: the loss or gradient norm is ${value}. No update was applied.`];
    for (const c of checked.filter((c) => !c.usable)) lines.push(`${basename(c.dir)} cannot be resumed from: ${c.why}.`);
    if (usable) {
      lines.push(
        `${usable.dir} is the last checkpoint to resume from (${usable.why}): resume from it with a lower learning rate or stronger ` +
          "clipping, accepting that change (allowChanges; openr1 train --resume <checkpoint> --lr <lower> --allow-change lr).",
      );
    } else if (checked.length > 0) {
      lines.push("No kept checkpoint can be resumed from: start again in another output folder with a lower learning rate or stronger clipping.");
    } else {
      lines.push("No checkpoint had been written yet: start again with a lower learning rate or stronger clipping.");
    }
    super(lines.join("\n"));
    this.name = "TrainingDivergedError";
    this.usableCheckpoint = usable?.dir;
  }
}
