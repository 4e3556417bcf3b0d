import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { collate, countInputTokens, epochBatches, evalBatches } from "./batching.js";
import type { TrainerCallback, TrainerState } from "./callbacks.js";
import {
  cleanPartialCheckpoints,
  loadResumeCheckpoint,
  restoreTrainingState,
  listCheckpoints,
  loadCheckpoint,
  pruneCheckpoints,
  saveTrainerTensors,
  writeCheckpointAtomic,
  writeTrainerState,
  type TrainerStateFile,
} from "./checkpoint.js";
import type { TokenizedExample } from "./format.js";
import { RESUME_CHANGEABLE, TrainingDivergedError, type CheckpointVerdict, type ResumeChange } from "./divergence.js";
import { accumulateGradients, clipFactor, globalNorm, readScalar } from "./gradients.js";
import { isAllocationFailure, TrainingOutOfMemoryError } from "./memory.js";
import { withExclusiveLock } from "../files/lock.js";
import { AdamW } from "./optimizer.js";
import { hashInts } from "../rng.js";
import { learningRateAt, totalTrainingSteps, warmupStepsFromRatio, type ScheduleConfig } from "./schedule.js";
import type { Batch, TrainableModel } from "../model/trainable.js";
import { resolveTrainerConfig, TRAJECTORY_KEYS, trainerSettings, type TrainerConfig, type TrainerConfigInput } from "./settings.js";

export type { TrainerConfig, TrainerConfigInput } from "./settings.js";

/** Every trainer setting's default (src/train/settings.ts): the embedded default's values. */
export const DEFAULT_TRAINER_CONFIG: Omit<TrainerConfig, "outputDir"> = trainerSettings.omit({ outputDir: true }).parse({});

/** Model-specific writers of the final outputs (the model stage provides them). */
export interface TrainerOutputs {
  /** Writes the adapter in PEFT's format (adapter_config.json + adapter_model.safetensors) into `dir`. */
  saveAdapter?(dir: string): void | Promise<void>;
  /** Writes the merged model in HF layout (config.json, generation_config.json, model.safetensors) into `dir`. */
  saveMerged?(dir: string): void | Promise<void>;
  /** Full-parameter training: writes the trained model in HF layout into `dir` (checkpoints carry it too). */
  saveModel?(dir: string): void | Promise<void>;
  /** Its files are copied next to the merged or trained model. */
  tokenizer?: { saveTo(dir: string): unknown };
}

export interface TrainOptions {
  model: TrainableModel;
  train: TokenizedExample[];
  validation?: TokenizedExample[];
  padTokenId: number;
  /** The trainer's settings (src/train/settings.ts): outputDir and any other, the rest default; another key is refused. */
  config: TrainerConfigInput;
  callbacks?: TrainerCallback[];
  outputs?: TrainerOutputs;
  /** A checkpoint folder, or "latest" (the newest complete checkpoint in outputDir). */
  resumeFrom?: string;
  /**
   * Settings (of RESUME_CHANGEABLE: learningRate, maxGradNorm) that may differ from the checkpoint's when resuming:
   * the change is recorded in the later checkpoints (`changes`). Any other difference is refused.
   */
  allowChanges?: string[];
  /** Stops after the current step (as an interruption would: no final outputs). */
  signal?: AbortSignal;
}

export interface StepRecord {
  step: number;
  loss: number;
  learningRate: number;
  gradNorm: number;
  numTargetTokens: number;
  numInputTokens: number;
  seconds: number;
}

export interface TrainResult {
  globalStep: number;
  maxSteps: number;
  /** The steps run by this call (after the resumed step when resuming). */
  steps: StepRecord[];
  evals: { step: number; evalLoss: number }[];
  /** Every log and evaluation record of the run (resumed runs include those before the checkpoint). */
  logHistory: Record<string, number>[];
  lastCheckpoint?: string;
  adapterDir?: string;
  mergedDir?: string;
  /** Full-parameter training: the trained model (HF layout) under outputDir/model. */
  savedModelDir?: string;
  /** Settings changed on resumes (allowChanges), oldest first. */
  changes: ResumeChange[];
  status: "completed" | "aborted";
}

/** sha256 of the examples' token ids and labels, in order (identifies the training data in a checkpoint). */
function hashExamples(examples: TokenizedExample[]): string {
  const h = createHash("sha256");
  for (const e of examples) h.update(new Uint8Array(Int32Array.from([...e.inputIds, -1, ...e.labels, -2]).buffer));
  return h.digest("hex");
}

/** Token-weighted validation loss: total NLL over all target tokens / their number. */
export async function evaluateLoss(model: Pick<TrainableModel, "sumLoss">, examples: TokenizedExample[], padTokenId: number, batchSize: number): Promise<number> {
  let tokens = 0;
  // Summed on the backend, read once.
  let sum: tf.Tensor = tf.scalar(0);
  for (const idx of evalBatches(examples.map((e) => e.inputIds.length), batchSize)) {
    const batch = collate(idx.map((i) => examples[i]!), padTokenId);
    const prev = sum;
    sum = tf.tidy(() => tf.add(prev, model.sumLoss(batch, { training: false })));
    prev.dispose();
    tokens += idx.reduce((n, i) => n + examples[i]!.labels.slice(1).filter((l) => l !== -100).length, 0);
  }
  try {
    return (await sum.data())[0]! / tokens;
  } finally {
    sum.dispose();
  }
}

/**
 * Fine-tunes the model's trainable variables: AdamW, warmup + cosine/linear schedule, gradient accumulation
 * with token-count normalisation, clipping, validation, logging through callbacks, atomic checkpoints with
 * exact resume, and the final adapter / merged model.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  // Checked before anything is made: a wrong setting leaves no folder behind.
  const cfg = resolveTrainerConfig(opts.config);
  mkdirSync(cfg.outputDir, { recursive: true });
  // One writer per folder: a second run would prune and overwrite this one's checkpoints.
  const at = { where: "the set-up before the first step" };
  return withExclusiveLock(join(cfg.outputDir, ".lock"), `The checkpoint folder ${cfg.outputDir}`, async () => {
    try {
      return await trainLocked(opts, cfg, at);
    } catch (e) {
      throw isAllocationFailure(e) ? new TrainingOutOfMemoryError(at.where, e as Error) : e;
    }
  });
}

/** `at.where` says what runs (for an allocation failure's message). */
async function trainLocked(opts: TrainOptions, cfg: TrainerConfig, at: { where: string }): Promise<TrainResult> {
  const { model, padTokenId } = opts;
  const data = opts.train;
  if (data.length === 0) throw new Error("No training examples (after formatting and length filtering)");
  const validation = opts.validation ?? [];
  const callbacks = opts.callbacks ?? [];
  const lengths = data.map((e) => e.inputIds.length);
  const microPerEpoch = Math.ceil(data.length / cfg.batchSize);
  const maxSteps = totalTrainingSteps(data.length, cfg);
  const schedule: ScheduleConfig = {
    kind: cfg.schedule,
    learningRate: cfg.learningRate,
    warmupSteps: warmupStepsFromRatio(cfg.warmupRatio, maxSteps),
    totalSteps: maxSteps,
    minLrRatio: cfg.minLrRatio,
  };
  const params = model.trainableVariables();
  if (params.size === 0) throw new Error("The model has no trainable variables");
  const optimizer = new AdamW(params, { beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: cfg.weightDecay }, model.noWeightDecay?.());

  // The trainer settings that decide the updates (not where outputs go nor how often the run logs, evaluates and
  // saves), the step count and the data: what a resume must find unchanged.
  const trajectory: Record<string, unknown> = {
    ...Object.fromEntries(TRAJECTORY_KEYS.map((k) => [k, cfg[k]])),
    maxSteps, numExamples: data.length, examples: hashExamples(data),
  };
  let globalStep = 0;
  let microBatchCursor = 0;
  let numTokens = 0;
  // Sum of the losses of steps 1..resumedFrom, when the checkpoint says (older ones do not).
  let lossSumBefore: number | undefined = 0;
  let resumedFrom = 0;
  let logHistory: Record<string, number>[] = [];
  let pendingLogSteps: TrainerStateFile["pendingLogSteps"] = [];
  let lastCheckpoint: string | undefined;
  let changes: ResumeChange[] = [];
  mkdirSync(cfg.outputDir, { recursive: true });
  cleanPartialCheckpoints(cfg.outputDir);

  if (opts.resumeFrom) {
    const { dir, ckpt } = loadResumeCheckpoint(cfg.outputDir, opts.resumeFrom);
    const s = ckpt.state;
    if (s.maxSteps !== maxSteps || s.seed !== cfg.seed) {
      throw new Error(`${dir}: made with maxSteps ${s.maxSteps} and seed ${s.seed}, but this run has maxSteps ${maxSteps} and seed ${cfg.seed}; an exact resume needs the same`);
    }
    // Only this run's trajectory keys are compared: checkpoints made before the trainer took exactly its own settings
    // also recorded the pipeline's (method, target, maxSeqLength, overLength, mergedDtype), which are not the
    // trainer's to judge (a different target or length changes the examples, and their hash, anyway).
    const differ = s.run ? Object.keys(trajectory).filter((k) => JSON.stringify(s.run![k]) !== JSON.stringify(trajectory[k])) : [];
    const allowed = opts.allowChanges ?? [];
    const unknown = allowed.filter((k) => !(RESUME_CHANGEABLE as readonly string[]).includes(k));
    if (unknown.length) throw new Error(`allowChanges: ${unknown.join(", ")} cannot change on a resume (only ${RESUME_CHANGEABLE.join(", ")}: the rest decides which batches the steps see)`);
    const refused = differ.filter((k) => !allowed.includes(k));
    if (refused.length) {
      const show = (r: Record<string, unknown>, k: string) => JSON.stringify(r[k]);
      const changeable = refused.every((k) => (RESUME_CHANGEABLE as readonly string[]).includes(k));
      throw new Error(
        `${dir}: made with another training setup (${refused.map((k) => `${k} ${show(s.run!, k)} here ${show(trajectory, k)}`).join(", ")}); an exact resume needs the same — ` +
          (changeable ? `to resume with ${refused.join(" and ")} changed, accept the change (allowChanges; openr1 train --allow-change lr,max-grad-norm): it is recorded in the checkpoints` : "use another output folder"),
      );
    }
    const pick = (r: Record<string, unknown>) => Object.fromEntries(differ.map((k) => [k, r[k]]));
    changes = [...(s.changes ?? []), ...(differ.length ? [{ step: s.globalStep, from: pick(s.run!), to: pick(trajectory) }] : [])];
    restoreTrainingState(dir, ckpt, params, optimizer, s.optimizer.step);
    globalStep = s.globalStep;
    microBatchCursor = s.microBatchCursor;
    numTokens = s.numTokens;
    lossSumBefore = s.lossSum;
    resumedFrom = s.globalStep;
    logHistory = s.logHistory;
    pendingLogSteps = s.pendingLogSteps ?? [];
    lastCheckpoint = dir;
  }

  let cachedEpoch = -1;
  let cachedBatches: number[][] = [];
  const microBatch = (cursor: number): Batch => {
    const epoch = Math.floor(cursor / microPerEpoch);
    if (epoch !== cachedEpoch) {
      cachedBatches = epochBatches(lengths, cfg.batchSize, cfg.seed, epoch);
      cachedEpoch = epoch;
    }
    return collate(cachedBatches[cursor % microPerEpoch]!.map((i) => data[i]!), padTokenId, cfg.padToMultipleOf);
  };
  const state = (): TrainerState => ({ globalStep, maxSteps, epoch: microBatchCursor / microPerEpoch });
  /** The batches and dropout seeds of the step after `step`, which starts at micro-batch `cursor`. */
  const stepInputs = (step: number, cursor: number) => {
    const batches: Batch[] = [];
    const seeds: number[] = [];
    for (let k = 0; k < cfg.gradientAccumulation; k++) {
      batches.push(microBatch(cursor + k));
      seeds.push(hashInts(cfg.seed, 0xd409, step, k));
    }
    return { batches, seeds };
  };

  /**
   * After a divergence: can a kept checkpoint be resumed from? Its weights and Adam moments must be finite and the
   * step after it must give a finite loss and gradient norm (run here on its weights, as a resume would). Checked
   * newest first up to the first usable one; the model's weights are put back afterwards.
   */
  const checkCheckpoints = async (): Promise<CheckpointVerdict[]> => {
    const current = new Map<string, Float32Array>();
    for (const [name, v] of params) current.set(name, (await v.data()) as Float32Array);
    const verdicts: CheckpointVerdict[] = [];
    try {
      for (const { dir, step } of listCheckpoints(cfg.outputDir).filter((c) => c.step <= globalStep).reverse()) {
        const verdict = await checkCheckpoint(dir);
        verdicts.push({ dir, step, ...verdict });
        if (verdict.usable) break;
      }
    } finally {
      for (const [name, v] of params) tf.tidy(() => v.assign(tf.tensor(current.get(name)!, v.shape, "float32")));
    }
    return verdicts;
  };
  const checkCheckpoint = async (dir: string): Promise<{ usable: boolean; why: string }> => {
    let ckpt;
    try {
      ckpt = loadCheckpoint(dir);
    } catch (e) {
      return { usable: false, why: `it cannot be read (${(e as Error).message})` };
    }
    let nonFinite = 0;
    let largest = 0;
    for (const group of [ckpt.params, ckpt.expAvg, ckpt.expAvgSq]) {
      for (const data of group.values()) for (const x of data) Number.isFinite(x) ? (largest = Math.max(largest, Math.abs(x))) : nonFinite++;
    }
    if (nonFinite > 0) return { usable: false, why: `${nonFinite} of its weights and Adam moments are not finite` };
    for (const [name, v] of params) {
      const data = ckpt.params.get(name);
      if (!data || data.length !== v.size) return { usable: false, why: `weight ${name} is missing or has the wrong size` };
      tf.tidy(() => v.assign(tf.tensor(data, v.shape, "float32")));
    }
    const { batches, seeds } = stepInputs(ckpt.state.globalStep, ckpt.state.microBatchCursor);
    const { loss, grads } = await accumulateGradients(model, batches, { training: true, seeds });
    const norm = await readScalar(globalNorm(grads));
    tf.dispose([...grads.values()]);
    const magnitude = `its largest weight or moment is ${largest.toExponential(1)}`;
    if (!Number.isFinite(loss) || !Number.isFinite(norm)) return { usable: false, why: `the step after it gives loss ${loss} and gradient norm ${norm} (${magnitude})` };
    return { usable: true, why: `finite weights and optimizer state, ${magnitude}; the step after it gives loss ${loss.toFixed(4)}, gradient norm ${norm.toPrecision(3)}` };
  };

  const runConfig = { ...cfg, maxSteps, warmupSteps: schedule.warmupSteps, numExamples: data.length, numValidation: validation.length, trainableTensors: params.size };
  for (const cb of callbacks) await cb.onTrainBegin?.(runConfig, state());

  const saveCheckpoint = async () => {
    at.where = `the checkpoint of step ${globalStep}`;
    const trainerState: TrainerStateFile = {
      globalStep, maxSteps, epoch: microBatchCursor / microPerEpoch, microBatchCursor, seed: cfg.seed, numTokens, schedule,
      optimizer: { step: optimizer.step, beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: cfg.weightDecay },
      run: trajectory,
      logHistory,
      lossSum: lossSumBefore === undefined ? undefined : lossSumBefore + steps.reduce((sum, r) => sum + r.loss, 0),
      pendingLogSteps: pendingLogSteps.map(({ loss, numInputTokens, seconds }) => ({ loss, numInputTokens, seconds })),
      changes,
    };
    lastCheckpoint = await writeCheckpointAtomic(cfg.outputDir, globalStep, async (tmp) => {
      await (opts.outputs?.saveAdapter ?? opts.outputs?.saveModel)?.(tmp);
      await saveTrainerTensors(tmp, params, optimizer);
      writeTrainerState(tmp, trainerState);
    });
    pruneCheckpoints(cfg.outputDir, cfg.keepCheckpoints);
    for (const cb of callbacks) await cb.onSave?.(lastCheckpoint, state());
  };
  const evals: TrainResult["evals"] = [];
  const evaluate = async () => {
    at.where = `the validation loss at step ${globalStep}`;
    const evalLoss = await evaluateLoss(model, validation, padTokenId, cfg.evalBatchSize);
    evals.push({ step: globalStep, evalLoss });
    logHistory.push({ step: globalStep, eval_loss: evalLoss });
    for (const cb of callbacks) await cb.onEvaluate?.({ eval_loss: evalLoss }, state());
  };

  if (cfg.evalOnStart && globalStep === 0 && validation.length > 0) await evaluate();
  const steps: StepRecord[] = [];
  const started = performance.now();
  let status: TrainResult["status"] = "completed";
  while (globalStep < maxSteps) {
    at.where = `step ${globalStep + 1}`;
    const t0 = performance.now();
    const { batches, seeds } = stepInputs(globalStep, microBatchCursor);
    const { loss, grads, numTargetTokens } = await accumulateGradients(model, batches, { training: true, seeds });
    const { norm, factor } = cfg.maxGradNorm > 0 ? clipFactor(grads, cfg.maxGradNorm) : { norm: globalNorm(grads), factor: undefined };
    const gradNorm = await readScalar(norm);
    const stepTensors = [...grads.values(), ...(factor ? [factor] : [])];
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      tf.dispose(stepTensors);
      optimizer.dispose();
      throw new TrainingDivergedError(globalStep + 1, Number.isFinite(loss) ? gradNorm : loss, lastCheckpoint, await checkCheckpoints());
    }
    const learningRate = learningRateAt(globalStep, schedule);
    optimizer.apply(grads, learningRate, factor);
    tf.dispose(stepTensors);

    globalStep++;
    microBatchCursor += cfg.gradientAccumulation;
    const numInputTokens = batches.reduce((n, b) => n + countInputTokens(b), 0);
    numTokens += numInputTokens;
    const record: StepRecord = { step: globalStep, loss, learningRate, gradNorm, numTargetTokens, numInputTokens, seconds: (performance.now() - t0) / 1000 };
    steps.push(record);
    pendingLogSteps.push(record);
    const stepLogs = { loss, learning_rate: learningRate, grad_norm: gradNorm, tokens_per_second: numInputTokens / record.seconds };
    for (const cb of callbacks) await cb.onStepEnd?.(stepLogs, state());
    // A step is synchronous work: let the event loop run signal handlers (Ctrl-C) before deciding to go on.
    await new Promise((r) => setImmediate(r));

    if (globalStep % cfg.logEvery === 0 || globalStep === maxSteps) {
      const window = pendingLogSteps;
      const seconds = window.reduce((s, r) => s + r.seconds, 0);
      const logs = {
        loss: window.reduce((s, r) => s + r.loss, 0) / window.length,
        learning_rate: learningRate,
        grad_norm: gradNorm,
        epoch: microBatchCursor / microPerEpoch,
        tokens_per_second: window.reduce((s, r) => s + r.numInputTokens, 0) / seconds,
        num_tokens: numTokens,
      };
      logHistory.push({ step: globalStep, ...logs });
      pendingLogSteps = [];
      for (const cb of callbacks) await cb.onLog?.(logs, state());
    }
    const last = globalStep === maxSteps;
    if (validation.length > 0 && ((cfg.evalEvery > 0 && globalStep % cfg.evalEvery === 0) || last)) await evaluate();
    const aborted = opts.signal?.aborted === true && !last;
    // An interrupted run (Ctrl-C) saves where it stopped, so that resuming loses no step.
    if (cfg.saveEvery > 0 && (globalStep % cfg.saveEvery === 0 || last || aborted)) await saveCheckpoint();
    if (aborted) {
      status = "aborted";
      break;
    }
  }
  optimizer.dispose();

  const result: TrainResult = { globalStep, maxSteps, steps, evals, logHistory, lastCheckpoint, changes, status };
  at.where = "the saving of the final outputs";
  if (status === "completed") {
    if (opts.outputs?.saveAdapter) {
      result.adapterDir = join(cfg.outputDir, "adapter");
      mkdirSync(result.adapterDir, { recursive: true });
      await opts.outputs.saveAdapter(result.adapterDir);
    }
    if (opts.outputs?.saveMerged) {
      result.mergedDir = join(cfg.outputDir, "merged");
      mkdirSync(result.mergedDir, { recursive: true });
      await opts.outputs.saveMerged(result.mergedDir);
      opts.outputs.tokenizer?.saveTo(result.mergedDir);
    }
    if (opts.outputs?.saveModel) {
      result.savedModelDir = join(cfg.outputDir, "model");
      mkdirSync(result.savedModelDir, { recursive: true });
      await opts.outputs.saveModel(result.savedModelDir);
      opts.outputs.tokenizer?.saveTo(result.savedModelDir);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const lossSumHere = steps.reduce((s, r) => s + r.loss, 0);
  const summary: Record<string, number> = {
    // The whole run's mean step loss, steps before a resume included (unknown for checkpoints without lossSum).
    train_loss: lossSumBefore !== undefined && globalStep > 0 ? (lossSumBefore + lossSumHere) / (resumedFrom + steps.length) : steps.length ? lossSumHere / steps.length : NaN,
    train_runtime: seconds,
    train_tokens_per_second: steps.reduce((n, r) => n + r.numInputTokens, 0) / seconds,
    global_step: globalStep,
  };
  const lastEval = logHistory.filter((h) => "eval_loss" in h).at(-1);
  if (lastEval) summary.eval_loss = lastEval.eval_loss!;
  for (const cb of callbacks) await cb.onTrainEnd?.(summary, state());
  return result;
}
