import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { readJsonFile } from "../files/read.js";
import type { ResumeChange } from "./divergence.js";
import type { AdamW } from "./optimizer.js";
import type { ScheduleConfig } from "./schedule.js";
import { readF32Safetensors, writeF32Safetensors, type F32Tensor } from "./tensor-file.js";

export const TRAINER_STATE_FILE = "trainer_state.json";
export const OPTIMIZER_FILE = "optimizer.safetensors";

/** Everything besides tensors that resuming needs (written last; its presence marks a complete checkpoint). */
export interface TrainerStateFile {
  globalStep: number;
  maxSteps: number;
  epoch: number;
  /** Micro-batches consumed so far in the stream of seeded epochs (the data-order position). */
  microBatchCursor: number;
  /** The seed every random choice derives from (data order, dropout), with the counters above. */
  seed: number;
  numTokens: number;
  schedule: ScheduleConfig;
  optimizer: { step: number; beta1: number; beta2: number; eps: number; weightDecay: number };
  logHistory: Record<string, number>[];
  /**
   * What the run's trajectory depends on (the trainer settings, the data's size and a hash of its examples):
   * a resume with anything else is refused. Absent in checkpoints written before it existed.
   */
  run?: Record<string, unknown>;
  /** Sum of every step's loss so far, so a resumed run's `train_loss` is the mean over the whole run. */
  lossSum?: number;
  /** Steps since the last log (their mean loss is logged next), so a resumed run logs the same values. */
  pendingLogSteps: { loss: number; numInputTokens: number; seconds: number }[];
  /** Settings changed on resumes, accepted explicitly (allowChanges), oldest first. */
  changes?: ResumeChange[];
}

export interface CheckpointInfo {
  step: number;
  dir: string;
}

const CHECKPOINT_RE = /^checkpoint-(\d+)$/;

/** Complete checkpoints (those with a trainer state) under `outputDir`, oldest first. */
export function listCheckpoints(outputDir: string): CheckpointInfo[] {
  if (!existsSync(outputDir)) return [];
  return readdirSync(outputDir)
    .map((name) => ({ m: CHECKPOINT_RE.exec(name), name }))
    .filter(({ m, name }) => m && existsSync(join(outputDir, name, TRAINER_STATE_FILE)))
    .map(({ m, name }) => ({ step: Number(m![1]), dir: join(outputDir, name) }))
    .sort((a, b) => a.step - b.step);
}

export function latestCheckpoint(outputDir: string): CheckpointInfo | undefined {
  return listCheckpoints(outputDir).at(-1);
}

/** Removes leftovers of interrupted writes (temporary folders). */
export function cleanPartialCheckpoints(outputDir: string): void {
  if (!existsSync(outputDir)) return;
  for (const name of readdirSync(outputDir)) if (name.startsWith(".tmp-checkpoint-")) rmSync(join(outputDir, name), { recursive: true, force: true });
}

function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes checkpoint-<step> atomically: everything goes into a temporary folder (fsynced), which is then
 * renamed into place. A crash at any point leaves either the previous checkpoints alone or the new one complete.
 */
export async function writeCheckpointAtomic(outputDir: string, step: number, write: (tmpDir: string) => Promise<void> | void): Promise<string> {
  mkdirSync(outputDir, { recursive: true });
  const final = join(outputDir, `checkpoint-${step}`);
  const tmp = join(outputDir, `.tmp-checkpoint-${step}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    await write(tmp);
    for (const f of readdirSync(tmp, { recursive: true }) as string[]) fsyncPath(join(tmp, f));
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  if (existsSync(final)) {
    const old = `${tmp}.old`;
    renameSync(final, old);
    renameSync(tmp, final);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(tmp, final);
  }
  fsyncPath(outputDir);
  return final;
}

/** Keeps the newest `keep` complete checkpoints. */
export function pruneCheckpoints(outputDir: string, keep: number): void {
  const all = listCheckpoints(outputDir);
  for (const c of all.slice(0, Math.max(0, all.length - keep))) rmSync(c.dir, { recursive: true, force: true });
}

/** The trainer's exact tensors: the trainable weights (param.*) and Adam's moments (exp_avg.*, exp_avg_sq.*). */
export async function saveTrainerTensors(dir: string, params: Map<string, tf.Variable>, optimizer: AdamW): Promise<void> {
  const state = await optimizer.getState();
  const tensors = new Map<string, F32Tensor>();
  for (const [name, p] of params) {
    tensors.set(`param.${name}`, { shape: p.shape, data: (await p.data()) as Float32Array });
    tensors.set(`exp_avg.${name}`, { shape: p.shape, data: state.expAvg.get(name)! });
    tensors.set(`exp_avg_sq.${name}`, { shape: p.shape, data: state.expAvgSq.get(name)! });
  }
  writeF32Safetensors(join(dir, OPTIMIZER_FILE), tensors, { step: String(state.step) });
}

export function writeTrainerState(dir: string, state: TrainerStateFile): void {
  writeFileSync(join(dir, TRAINER_STATE_FILE), JSON.stringify(state, null, 2));
}

export interface LoadedCheckpoint {
  state: TrainerStateFile;
  params: Map<string, Float32Array>;
  expAvg: Map<string, Float32Array>;
  expAvgSq: Map<string, Float32Array>;
}

export function loadCheckpoint(dir: string): LoadedCheckpoint {
  const stateFile = join(dir, TRAINER_STATE_FILE);
  if (!existsSync(stateFile)) throw new Error(`${dir}: not a complete checkpoint (no ${TRAINER_STATE_FILE})`);
  const state = readJsonFile<TrainerStateFile>(stateFile, "the trainer's state");
  const tensors = readF32Safetensors(join(dir, OPTIMIZER_FILE));
  const pick = (prefix: string) =>
    new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t.data]));
  return { state, params: pick("param."), expAvg: pick("exp_avg."), expAvgSq: pick("exp_avg_sq.") };
}

/** Puts a checkpoint's weights back into the trainable variables and its AdamW moments into the optimizer (`step`: its step count). */
export function restoreTrainingState(dir: string, ckpt: LoadedCheckpoint, params: Map<string, tf.Variable>, optimizer: AdamW, step: number): void {
  for (const [name, v] of params) {
    const values = ckpt.params.get(name);
    if (!values || values.length !== v.size) throw new Error(`${dir}: weight ${name} is missing or has the wrong size`);
    tf.tidy(() => v.assign(tf.tensor(values, v.shape, "float32")));
  }
  optimizer.setState({ step, expAvg: ckpt.expAvg, expAvgSq: ckpt.expAvgSq });
}

/** The checkpoint a resume names ("latest": the newest complete one in `outputDir`), loaded; its folder. */
export function loadResumeCheckpoint(outputDir: string, resumeFrom: string): { dir: string; ckpt: LoadedCheckpoint } {
  const dir = resumeFrom === "latest" ? latestCheckpoint(outputDir)?.dir : resumeFrom;
  if (!dir) throw new Error(`Cannot resume: no complete checkpoint in ${outputDir}`);
  return { dir, ckpt: loadCheckpoint(dir) };
}
