import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomic } from "../files/atomic.js";
import { latestCheckpoint } from "../train/checkpoint.js";
import { readRun, type HistoryRow } from "./read-run.js";
import { createTracker, newRunId, type TrackerOptions } from "./tracker.js";
import type { Tracker } from "./types.js";

const RECORD_FILE = "tracking.json";

export interface TrainingRun {
  /** The run's tracking record: new, or the one an earlier, stopped part of this run left (continued). */
  tracker: Tracker;
  /** "latest" when `outputDir` holds a checkpoint to go on from (pass it to `train`), else undefined. */
  resumeFrom?: "latest";
  /** The step of that checkpoint (0 for a new run). */
  fromStep: number;
  /** The record's history up to that step (empty for a new run): what the run logged before. */
  history: HistoryRow[];
  /** Closes the record if nothing else did (as interrupted): a cell run again reopens it. */
  dispose(): void;
}

/**
 * A training run that can be run again, as a notebook cell is: checkpoints go to `outputDir`, and the id of the run's
 * tracking record is kept there (`tracking.json`). Opening it again — after an interrupt, a kernel restart, or to look
 * at a finished run — goes on from the newest checkpoint and continues the same record (history after that step is
 * dropped, to be logged again), as `openr1 run` does for a pipeline run. Nothing is deleted: a folder that holds
 * something else is refused, and starting over is a new `outputDir` (or removing the folder yourself).
 */
export function openTrainingRun(outputDir: string, tracking: Omit<TrackerOptions, "id" | "resume" | "resumeFromStep"> = {}): TrainingRun {
  const recordFile = join(outputDir, RECORD_FILE);
  if (existsSync(outputDir) && !existsSync(recordFile) && readdirSync(outputDir).length > 0) {
    throw new Error(`${outputDir} is not empty and was not made by openTrainingRun (no ${RECORD_FILE}): nothing there is touched; choose another folder`);
  }
  mkdirSync(outputDir, { recursive: true });
  const previous = existsSync(recordFile) ? (JSON.parse(readFileSync(recordFile, "utf8")) as { id: string }) : undefined;
  const id = previous?.id ?? newRunId();
  if (!previous) writeJsonAtomic(recordFile, { id });
  const checkpoint = latestCheckpoint(outputDir);
  const fromStep = checkpoint?.step ?? 0;
  const tracker = createTracker({ ...tracking, id, resume: previous ? "allow" : "never", resumeFromStep: previous ? fromStep : undefined });
  const history = previous && tracker.runDir ? readRun(tracker.runDir).history : [];
  return { tracker, resumeFrom: checkpoint ? "latest" : undefined, fromStep, history, dispose: () => tracker.closeNow(130) };
}
