/**
 * GRPO (group-relative policy optimisation) with TRL's GRPOTrainer semantics: each generation batch samples
 * `numGenerations` completions for each of `promptsPerStep` prompts (all of them in one KV-cached `generate` call),
 * scores them with the reward functions, turns the rewards into group-relative advantages and takes
 * `numIterations` optimizer steps on the clipped surrogate (src/rl/loss.ts). Checkpoints, exact resume, the
 * stop signal and the folder lock work as the SFT trainer's (src/train/trainer.ts), whose AdamW, schedules,
 * clipping and checkpoint files it reuses.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { MathExample } from "../data/types.js";
import { generate, leftPad, type FinishReason } from "../model/generate.js";
import type { Qwen2Model } from "../model/qwen2.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { withExclusiveLock } from "../files/index.js";
import type { TrainerCallback, TrainerState } from "../train/callbacks.js";
import {
  cleanPartialCheckpoints,
  loadResumeCheckpoint,
  restoreTrainingState,
  pruneCheckpoints,
  saveTrainerTensors,
  TRAINER_STATE_FILE,
  writeCheckpointAtomic,
} from "../train/checkpoint.js";
import { promptMessages } from "../data/prompt.js";
import { clipFactor, globalNorm, readScalar } from "../train/gradients.js";
import { AdamW } from "../train/optimizer.js";
import { hashInts, seededRandom, shuffleInPlace } from "../rng.js";
import { learningRateAt, warmupStepsFromRatio, type ScheduleConfig } from "../train/schedule.js";
import type { TrainerOutputs } from "../train/trainer.js";
import { groupAdvantages, nanMean, nanStd, weightedRewards } from "./advantages.js";
import { tokenLogProbs } from "./logprobs.js";
import { clipStats, surrogateLoss, tokenWeights } from "./loss.js";
import { RewardScorer, type RewardFunction } from "./rewards.js";
import { grpoSettings, resolveGrpoConfig, type GrpoConfig, type GrpoConfigInput } from "./settings.js";

export type { GrpoConfig, GrpoConfigInput } from "./settings.js";

/** Every GRPO setting's default (src/rl/settings.ts): the embedded default's RL stage. */
export const DEFAULT_GRPO_CONFIG: Omit<GrpoConfig, "outputDir"> = grpoSettings.omit({ outputDir: true }).parse({});

/** One sampled completion of a generation batch, scored. */
export interface GrpoCompletion {
  /** Index of its problem in the training examples. */
  example: number;
  promptIds: number[];
  /** The new tokens, up to and including the end-of-sequence token. */
  completionIds: number[];
  finishReason: FinishReason;
  text: string;
  /** One value per reward function (null: the function declined). */
  rewards: (number | null)[];
  /** The weighted reward (NaN: every function declined). */
  reward: number;
  advantage: number;
}

/** A generation batch: its completions, and the log-probs the steps on it need (saved with a mid-batch checkpoint). */
export interface GenerationBatch {
  /** 0-based index of the batch in the run. */
  index: number;
  completions: GrpoCompletion[];
  /** Per completion, per token: the sampling policy's log-probs (numIterations > 1). */
  oldLogps?: number[][];
  /** Per completion, per token: the reference model's log-probs (beta ≠ 0). */
  refLogps?: number[][];
  /** What the generation logged (rewards, lengths; TRL's names). */
  metrics: Record<string, number>;
  sampledTokens: number;
  generationSeconds: number;
}

/** A GRPO run's extra hook: each new generation batch (for live sample tables). */
export interface GrpoCallback extends TrainerCallback {
  onGenerationBatch?(batch: GenerationBatch, examples: MathExample[], state: TrainerState): void | Promise<void>;
}

export interface GrpoStepRecord {
  step: number;
  loss: number;
  gradNorm: number;
  learningRate: number;
  /** All the metrics of the step under TRL's names (reward, rewards/<f>/mean, completions/mean_length, kl, …). */
  metrics: Record<string, number>;
  seconds: number;
}

export interface GrpoOptions {
  /** The policy's network: adapters attached (LoRA) or its weights trainable (FullModel). */
  model: Qwen2Model;
  /** What trains: the LoRA adapters or every weight (src/model LoraModel / FullModel). */
  trainable: { trainableVariables(): Map<string, tf.Variable>; noWeightDecay?(): Set<string> };
  /**
   * The KL reference when beta ≠ 0: "adapters-off" (LoRA: the model with its adapters detached, as TRL with a
   * new PEFT adapter), or a frozen copy of the starting model (full-parameter training).
   */
  reference?: "adapters-off" | Qwen2Model;
  tokenizer: Tokenizer;
  train: MathExample[];
  /** The output folder and any other GRPO setting (src/rl/settings.ts; the rest default). */
  config: GrpoConfigInput;
  /** Reward functions of your own, named in config.rewardFuncs. */
  rewardFunctions?: Record<string, RewardFunction>;
  callbacks?: GrpoCallback[];
  outputs?: TrainerOutputs;
  /** A checkpoint folder, or "latest". */
  resumeFrom?: string;
  /** Stops after the current step, which is checkpointed. */
  signal?: AbortSignal;
}

export interface GrpoResult {
  globalStep: number;
  maxSteps: number;
  steps: GrpoStepRecord[];
  logHistory: Record<string, number>[];
  lastCheckpoint?: string;
  adapterDir?: string;
  mergedDir?: string;
  savedModelDir?: string;
  status: "completed" | "aborted";
  /** The last generation batch's completions (for a look at what the policy writes). */
  lastBatch?: GenerationBatch;
}

const STATE_KIND = "grpo";
const ROLLOUT_FILE = "generation_batch.json";

interface GrpoStateFile {
  kind: typeof STATE_KIND;
  globalStep: number;
  maxSteps: number;
  seed: number;
  numTokens: number;
  schedule: ScheduleConfig;
  optimizer: { step: number };
  run: Record<string, unknown>;
  logHistory: Record<string, number>[];
  pendingLog: { metrics: Record<string, number>; seconds: number }[];
}

/** sha256 of the problems and answers trained on, in order. */
function hashExamples(examples: MathExample[]): string {
  const h = createHash("sha256");
  for (const e of examples) h.update(`${e.id}\u0000${e.problem}\u0000${e.answer}\u0001`);
  return h.digest("hex");
}

/** The model with its adapters detached while `body` runs (TRL: the reference of a new PEFT adapter). */
function withAdaptersOff<T>(model: Qwen2Model, body: () => T): T {
  const saved = new Map(model.adapters);
  model.adapters.clear();
  try {
    return body();
  } finally {
    for (const [k, v] of saved) model.adapters.set(k, v);
  }
}

/** Completion rows of a micro-batch: prompt + completion, right-padded, and where each completion token is predicted. */
interface PackedBatch {
  inputIds: number[][];
  attentionMask: number[][];
  /** Flat [b·L + position] index of the hidden state predicting each completion token, and the token. */
  rows: number[];
  targets: number[];
  /** For each token: which completion (index in the generation batch) it belongs to. */
  seq: number[];
}

function packRows(batch: GenerationBatch, members: number[], padTokenId: number): PackedBatch {
  const cs = members.map((i) => batch.completions[i]!);
  const L = Math.max(...cs.map((c) => c.promptIds.length + c.completionIds.length));
  const inputIds: number[][] = [], attentionMask: number[][] = [], rows: number[] = [], targets: number[] = [], seq: number[] = [];
  cs.forEach((c, b) => {
    const ids = [...c.promptIds, ...c.completionIds];
    inputIds.push([...ids, ...new Array<number>(L - ids.length).fill(padTokenId)]);
    attentionMask.push([...new Array<number>(ids.length).fill(1), ...new Array<number>(L - ids.length).fill(0)]);
    const p = c.promptIds.length;
    c.completionIds.forEach((t, j) => {
      rows.push(b * L + p - 1 + j);
      targets.push(t);
      seq.push(members[b]!);
    });
  });
  return { inputIds, attentionMask, rows, targets, seq };
}

/** Micro-batches of similar lengths (less padding): the loss does not depend on how completions are grouped. */
function microBatches(batch: GenerationBatch, included: number[], size: number): number[][] {
  const len = (i: number) => batch.completions[i]!.promptIds.length + batch.completions[i]!.completionIds.length;
  const order = [...included].sort((a, b) => len(a) - len(b) || a - b);
  const out: number[][] = [];
  for (let s = 0; s < order.length; s += size) out.push(order.slice(s, s + size));
  return out;
}

/** Log-probs of every completion token of `members` (no gradient), grouped per completion. */
function logProbsNoGrad(model: Qwen2Model, batch: GenerationBatch, members: number[], padTokenId: number, temperature: number): Map<number, number[]> {
  const packed = packRows(batch, members, padTokenId);
  const values = tf.tidy(() => {
    const hidden = model.hiddenStates({ inputIds: packed.inputIds, attentionMask: packed.attentionMask });
    const { logps, entropies } = tokenLogProbs(model, hidden, packed.rows, packed.targets, temperature);
    entropies.dispose();
    return logps;
  });
  const flat = values.dataSync() as Float32Array;
  values.dispose();
  const out = new Map<number, number[]>(members.map((m) => [m, []]));
  packed.seq.forEach((s, t) => out.get(s)!.push(flat[t]!));
  return out;
}

/** TRL's completion metrics of a generation batch. */
function completionMetrics(cs: GrpoCompletion[]): Record<string, number> {
  const lengths = cs.map((c) => c.completionIds.length);
  const terminated = cs.filter((c) => c.finishReason !== "length").map((c) => c.completionIds.length);
  const term = terminated.length ? terminated : [0];
  return {
    "completions/mean_length": lengths.reduce((a, b) => a + b, 0) / lengths.length,
    "completions/min_length": Math.min(...lengths),
    "completions/max_length": Math.max(...lengths),
    "completions/clipped_ratio": cs.filter((c) => c.finishReason === "length").length / cs.length,
    "completions/mean_terminated_length": term.reduce((a, b) => a + b, 0) / term.length,
    "completions/min_terminated_length": Math.min(...term),
    "completions/max_terminated_length": Math.max(...term),
  };
}

/** The prompt of each problem, as the chat template renders it with the generation prompt. */
export function promptIdsFor(tokenizer: Pick<Tokenizer, "encodeChat">, problem: string, systemPrompt: string | null): number[] {
  return tokenizer.encodeChat(promptMessages(problem, { systemPrompt }), { addGenerationPrompt: true });
}

export async function trainGrpo(opts: GrpoOptions): Promise<GrpoResult> {
  // A wrong setting is refused before the output folder is made.
  const cfg = resolveGrpoConfig(opts.config, Object.keys(opts.rewardFunctions ?? {}));
  mkdirSync(cfg.outputDir, { recursive: true });
  return withExclusiveLock(join(cfg.outputDir, ".lock"), `The checkpoint folder ${cfg.outputDir}`, () => trainLocked(opts, cfg));
}

async function trainLocked(opts: GrpoOptions, cfg: GrpoConfig): Promise<GrpoResult> {
  const { model, tokenizer } = opts;
  const data = opts.train;
  if (data.length === 0) throw new Error("GRPO: no training problems");
  if (cfg.beta !== 0 && !opts.reference) throw new Error("GRPO: beta is not 0, so a reference model is needed (reference: \"adapters-off\" with LoRA, or a frozen copy)");
  if (opts.reference === "adapters-off" && model.adapters.size === 0) throw new Error("GRPO: the reference \"adapters-off\" needs a model with adapters attached");
  const callbacks = opts.callbacks ?? [];
  const weights = cfg.rewardWeights ?? cfg.rewardFuncs.map(() => 1);
  const params = opts.trainable.trainableVariables();
  if (params.size === 0) throw new Error("GRPO: the model has no trainable variables");
  const names = [...params.keys()];
  const varList = names.map((n) => params.get(n)!);
  const optimizer = new AdamW(params, { beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, weightDecay: cfg.weightDecay }, opts.trainable.noWeightDecay?.());
  const schedule: ScheduleConfig = {
    kind: cfg.schedule, learningRate: cfg.learningRate, warmupSteps: warmupStepsFromRatio(cfg.warmupRatio, cfg.maxSteps), totalSteps: cfg.maxSteps, minLrRatio: cfg.minLrRatio,
  };
  const eos = tokenizer.chatStopIds;
  const pad = tokenizer.padTokenId;
  const prompts = new Map<number, number[]>();
  const promptOf = (i: number) => {
    let p = prompts.get(i);
    if (!p) prompts.set(i, (p = promptIdsFor(tokenizer, data[i]!.problem, cfg.systemPrompt)));
    return p;
  };

  // Everything the trajectory depends on: a resume with anything else is refused.
  const { outputDir: _o, logEvery: _l, saveEvery: _s, keepCheckpoints: _k, logCompletions: _c, ...settings } = cfg;
  const trajectory: Record<string, unknown> = { ...settings, numExamples: data.length, examples: hashExamples(data), trainableTensors: params.size };
  let globalStep = 0;
  let numTokens = 0;
  let logHistory: Record<string, number>[] = [];
  let pendingLog: GrpoStateFile["pendingLog"] = [];
  let lastCheckpoint: string | undefined;
  let batch: GenerationBatch | undefined;
  mkdirSync(cfg.outputDir, { recursive: true });
  cleanPartialCheckpoints(cfg.outputDir);

  if (opts.resumeFrom) {
    const { dir, ckpt } = loadResumeCheckpoint(cfg.outputDir, opts.resumeFrom);
    const s = ckpt.state as unknown as GrpoStateFile;
    if (s.kind !== STATE_KIND) throw new Error(`${dir}: not a GRPO checkpoint (written by another trainer); use another output folder`);
    const differ = Object.keys({ ...s.run, ...trajectory }).filter((k) => JSON.stringify(s.run[k]) !== JSON.stringify(trajectory[k]));
    if (differ.length) {
      throw new Error(`${dir}: made with another GRPO setup (${differ.map((k) => `${k} ${JSON.stringify(s.run[k])} here ${JSON.stringify(trajectory[k])}`).join(", ")}); an exact resume needs the same — use another output folder`);
    }
    restoreTrainingState(dir, ckpt, params, optimizer, s.optimizer.step);
    globalStep = s.globalStep;
    numTokens = s.numTokens;
    logHistory = s.logHistory;
    pendingLog = s.pendingLog;
    lastCheckpoint = dir;
    const saved = join(dir, ROLLOUT_FILE);
    if (existsSync(saved)) batch = JSON.parse(readFileSync(saved, "utf8")) as GenerationBatch;
  }

  const state = (): TrainerState => ({ globalStep, maxSteps: cfg.maxSteps, epoch: (Math.floor(globalStep / cfg.numIterations) * cfg.promptsPerStep) / data.length });
  const runConfig = { ...cfg, warmupSteps: schedule.warmupSteps, numExamples: data.length, trainableTensors: params.size, generationBatchSize: cfg.promptsPerStep * cfg.numGenerations };
  for (const cb of callbacks) await cb.onTrainBegin?.(runConfig, state());

  const scorer = new RewardScorer(cfg.rewardFuncs, opts.rewardFunctions);
  // The seeded order of the problems, epoch by epoch (TRL's RepeatSampler shuffles the prompts; each is repeated G times).
  let orderEpoch = -1;
  let order: number[] = [];
  const problemAt = (k: number) => {
    const epoch = Math.floor(k / data.length);
    if (epoch !== orderEpoch) {
      order = shuffleInPlace(data.map((_, i) => i), seededRandom(hashInts(cfg.seed, 0x5a3, epoch)));
      orderEpoch = epoch;
    }
    return order[k % data.length]!;
  };

  const generateBatch = async (index: number): Promise<GenerationBatch> => {
    const problems = Array.from({ length: cfg.promptsPerStep }, (_, j) => problemAt(index * cfg.promptsPerStep + j));
    const rowsExamples = problems.flatMap((p) => new Array<number>(cfg.numGenerations).fill(p));
    const t0 = performance.now();
    const out = generate(model, leftPad(rowsExamples.map(promptOf), pad), {
      maxNewTokens: cfg.maxCompletionLength,
      eosTokenIds: eos,
      padTokenId: pad,
      doSample: true,
      temperature: cfg.temperature,
      topP: cfg.topP,
      topK: cfg.topK || undefined,
      seed: hashInts(cfg.seed, 0x6e7, index),
    });
    const generationSeconds = (performance.now() - t0) / 1000;
    const texts = out.newTokens.map((t) => tokenizer.decode(t, { skipSpecialTokens: true }));
    const perFunc = await scorer.score(texts, rowsExamples.map((i) => data[i]!));
    const rewards = weightedRewards(perFunc, weights);
    const adv = groupAdvantages(rewards, cfg.numGenerations, cfg.scaleRewards);
    const completions: GrpoCompletion[] = rowsExamples.map((ex, i) => ({
      example: ex, promptIds: promptOf(ex), completionIds: out.newTokens[i]!, finishReason: out.finishReasons[i]!, text: texts[i]!,
      rewards: perFunc[i]!, reward: rewards[i]!, advantage: adv.advantages[i]!,
    }));
    const metrics: Record<string, number> = {};
    cfg.rewardFuncs.forEach((name, k) => {
      const col = perFunc.map((r) => (r[k] === null ? NaN : r[k]!));
      metrics[`rewards/${name}/mean`] = nanMean(col);
      metrics[`rewards/${name}/std`] = nanStd(col);
    });
    Object.assign(metrics, { reward: nanMean(rewards), reward_std: nanStd(rewards), frac_reward_zero_std: adv.fracZeroStd }, completionMetrics(completions));
    const sampledTokens = completions.reduce((n, c) => n + c.completionIds.length, 0);
    const b: GenerationBatch = { index, completions, metrics, sampledTokens, generationSeconds };
    // The sampling policy's and the reference's log-probs, without dropout and without gradient.
    const all = completions.map((_, i) => i);
    const noGrad = (m: Qwen2Model) => {
      const per = new Map<number, number[]>();
      for (const mb of microBatches(b, all, cfg.microBatchSize)) for (const [k, v] of logProbsNoGrad(m, b, mb, pad, cfg.temperature)) per.set(k, v);
      return all.map((i) => per.get(i)!);
    };
    if (cfg.numIterations > 1) b.oldLogps = noGrad(model);
    if (cfg.beta !== 0) b.refLogps = opts.reference === "adapters-off" ? withAdaptersOff(model, () => noGrad(model)) : noGrad(opts.reference as Qwen2Model);
    return b;
  };

  /** One optimizer step on the current generation batch: the surrogate's gradients over its micro-batches. */
  const optimizeOn = (b: GenerationBatch, step: number) => {
    const cs = b.completions;
    const masked = (c: GrpoCompletion) => cfg.maskTruncatedCompletions && c.finishReason === "length";
    const active = cs.map((c) => (masked(c) ? 0 : c.completionIds.length));
    const w = tokenWeights(active, cfg.lossType, cfg.maxCompletionLength);
    // A completion with advantage 0 (its whole group scored the same) adds exactly 0 to the loss and its gradient
    // when there is no KL term: it counts in the normalisers above but skips the forward/backward pass.
    const included = cs.map((_, i) => i).filter((i) => active[i]! > 0 && (cfg.beta !== 0 || cs[i]!.advantage !== 0));
    let lossSum = 0, trainTokens = 0;
    const ratios: number[] = [], advs: number[] = [], seqs: number[] = [], klValues: number[] = [], entValues: number[] = [];
    let sum: tf.Tensor[] | undefined;
    for (const [k, mb] of microBatches(b, included, cfg.microBatchSize).entries()) {
      const packed = packRows(b, mb, pad);
      trainTokens += packed.attentionMask.reduce((n, r) => n + r.reduce((a, x) => a + x, 0), 0);
      const perTok = (f: (i: number, j: number) => number) => {
        const out: number[] = [];
        for (const i of mb) cs[i]!.completionIds.forEach((_, j) => out.push(f(i, j)));
        return out;
      };
      let ratio: tf.Tensor1D | undefined, kl: tf.Tensor1D | undefined, entropies: tf.Tensor1D | undefined;
      const { value, grads } = tf.variableGrads(() => {
        const hidden = model.hiddenStates(
          { inputIds: packed.inputIds, attentionMask: packed.attentionMask },
          { training: true, dropoutSeed: hashInts(cfg.seed, 0x9e0, step, k) },
        );
        const lp = tokenLogProbs(model, hidden, packed.rows, packed.targets, cfg.temperature);
        entropies = lp.entropies;
        const r = surrogateLoss(
          {
            logps: lp.logps,
            oldLogps: b.oldLogps ? tf.tensor1d(perTok((i, j) => b.oldLogps![i]![j]!)) : undefined,
            refLogps: b.refLogps ? tf.tensor1d(perTok((i, j) => b.refLogps![i]![j]!)) : undefined,
            advantages: tf.tensor1d(perTok((i) => cs[i]!.advantage)),
            weights: tf.tensor1d(perTok((i) => w[i]!)),
          },
          cfg,
        );
        ratio = tf.keep(r.ratio);
        kl = r.kl && tf.keep(r.kl);
        return r.loss;
      }, varList);
      lossSum += value.dataSync()[0]!;
      value.dispose();
      ratios.push(...ratio!.dataSync());
      if (kl) klValues.push(...kl.dataSync());
      entValues.push(...entropies!.dataSync());
      tf.dispose([ratio!, kl, entropies!].filter((t): t is tf.Tensor1D => t !== undefined));
      advs.push(...perTok((i) => cs[i]!.advantage));
      seqs.push(...perTok((i) => i));
      const g = varList.map((v) => grads[v.name] ?? tf.zerosLike(v));
      if (!sum) sum = g;
      else {
        const prev = sum;
        sum = prev.map((s, j) => tf.add(s, g[j]!));
        tf.dispose([...prev, ...g]);
      }
    }
    // Nothing entered the loss (every completion masked): the step still runs, with zero gradients, as TRL's would.
    sum ??= varList.map((v) => tf.zerosLike(v));
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, c) => a + c, 0) / xs.length : NaN);
    const clip = clipStats(ratios, advs, new Array<number>(ratios.length).fill(1), seqs, cfg);
    const metrics: Record<string, number> = {
      ...(cfg.beta !== 0 ? { kl: mean(klValues) } : {}),
      entropy: mean(entValues),
      "clip_ratio/low_mean": clip.lowMean,
      "clip_ratio/low_min": clip.lowMin,
      "clip_ratio/high_mean": clip.highMean,
      "clip_ratio/high_max": clip.highMax,
      "clip_ratio/region_mean": clip.regionMean,
    };
    return { loss: lossSum, grads: new Map(names.map((n, j) => [n, sum![j]!])), metrics, trainTokens };
  };

  const saveCheckpoint = async () => {
    const s: GrpoStateFile = {
      kind: STATE_KIND, globalStep, maxSteps: cfg.maxSteps, seed: cfg.seed, numTokens, schedule, optimizer: { step: optimizer.step },
      run: trajectory, logHistory, pendingLog,
    };
    // Mid-way through a generation batch's iterations, the batch is saved too: the resumed run goes on with it.
    const midBatch = batch !== undefined && globalStep % cfg.numIterations !== 0;
    lastCheckpoint = await writeCheckpointAtomic(cfg.outputDir, globalStep, async (tmp) => {
      await (opts.outputs?.saveAdapter ?? opts.outputs?.saveModel)?.(tmp);
      await saveTrainerTensors(tmp, params, optimizer);
      if (midBatch) writeFileSync(join(tmp, ROLLOUT_FILE), JSON.stringify(batch));
      writeFileSync(join(tmp, TRAINER_STATE_FILE), JSON.stringify(s, null, 2));
    });
    pruneCheckpoints(cfg.outputDir, cfg.keepCheckpoints);
    for (const cb of callbacks) await cb.onSave?.(lastCheckpoint, state());
  };

  const steps: GrpoStepRecord[] = [];
  const started = performance.now();
  let status: GrpoResult["status"] = "completed";
  try {
    while (globalStep < cfg.maxSteps) {
      const t0 = performance.now();
      const generationIndex = Math.floor(globalStep / cfg.numIterations);
      let fresh = false;
      if (!batch || batch.index !== generationIndex) {
        batch = await generateBatch(generationIndex);
        fresh = true;
        numTokens += batch.completions.reduce((n, c) => n + c.promptIds.length + c.completionIds.length, 0);
        for (const cb of callbacks) await (cb as GrpoCallback).onGenerationBatch?.(batch, data, state());
      }
      const t1 = performance.now();
      const { loss, grads, metrics, trainTokens } = optimizeOn(batch, globalStep);
      const { norm, factor } = cfg.maxGradNorm > 0 ? clipFactor(grads, cfg.maxGradNorm) : { norm: globalNorm(grads), factor: undefined };
      const gradNorm = await readScalar(norm);
      const stepTensors = [...grads.values(), ...(factor ? [factor] : [])];
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        tf.dispose(stepTensors);
        throw new Error(`GRPO stopped at step ${globalStep + 1}: the loss or gradient norm is ${Number.isFinite(loss) ? gradNorm : loss}; no update was applied` +
          (lastCheckpoint ? ` (last checkpoint: ${lastCheckpoint})` : ""));
      }
      const learningRate = learningRateAt(globalStep, schedule);
      optimizer.apply(grads, learningRate, factor);
      tf.dispose(stepTensors);
      globalStep++;
      const t2 = performance.now();
      const seconds = (t2 - t0) / 1000;
      // Generation metrics belong to the step that sampled the batch (TRL logs them once per generation).
      const stepMetrics: Record<string, number> = {
        loss, grad_norm: gradNorm, learning_rate: learningRate, num_tokens: numTokens,
        ...(fresh ? batch.metrics : {}),
        ...metrics,
        step_time: seconds,
        ...(fresh ? { sampled_tokens_per_second: batch.sampledTokens / batch.generationSeconds } : {}),
        train_tokens_per_second: trainTokens / ((t2 - t1) / 1000),
      };
      steps.push({ step: globalStep, loss, gradNorm, learningRate, metrics: stepMetrics, seconds });
      pendingLog.push({ metrics: stepMetrics, seconds });
      for (const cb of callbacks) await cb.onStepEnd?.(stepMetrics, state());
      // A step is synchronous work: let the event loop run signal handlers (Ctrl-C) before deciding to go on.
      await new Promise((r) => setImmediate(r));
      const last = globalStep === cfg.maxSteps;
      if (globalStep % cfg.logEvery === 0 || last) {
        const logs = averageLogs(pendingLog.map((p) => p.metrics));
        Object.assign(logs, { learning_rate: learningRate, num_tokens: numTokens, epoch: state().epoch });
        logHistory.push({ step: globalStep, ...logs });
        pendingLog = [];
        for (const cb of callbacks) await cb.onLog?.(logs, state());
      }
      const aborted = opts.signal?.aborted === true && !last;
      if (cfg.saveEvery > 0 && (globalStep % cfg.saveEvery === 0 || last || aborted)) await saveCheckpoint();
      if (aborted) {
        status = "aborted";
        break;
      }
    }
  } finally {
    scorer.close();
    optimizer.dispose();
  }

  const result: GrpoResult = { globalStep, maxSteps: cfg.maxSteps, steps, logHistory, lastCheckpoint, status, lastBatch: batch };
  if (status === "completed") {
    const o = opts.outputs;
    if (o?.saveAdapter) mkdirSync((result.adapterDir = join(cfg.outputDir, "adapter")), { recursive: true }), await o.saveAdapter(result.adapterDir);
    if (o?.saveMerged) {
      mkdirSync((result.mergedDir = join(cfg.outputDir, "merged")), { recursive: true });
      await o.saveMerged(result.mergedDir);
      o.tokenizer?.saveTo(result.mergedDir);
    }
    if (o?.saveModel) {
      mkdirSync((result.savedModelDir = join(cfg.outputDir, "model")), { recursive: true });
      await o.saveModel(result.savedModelDir);
      o.tokenizer?.saveTo(result.savedModelDir);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const rewardsLogged = logHistory.filter((h) => "reward" in h);
  const summary: Record<string, number> = {
    train_runtime: seconds,
    global_step: globalStep,
    ...(rewardsLogged.length ? { train_reward_first: rewardsLogged[0]!.reward!, train_reward_last: rewardsLogged.at(-1)!.reward! } : {}),
  };
  for (const cb of callbacks) await cb.onTrainEnd?.(summary, state());
  return result;
}

/** The mean of each metric over the steps since the last log (NaN values left out, as TRL does). */
export function averageLogs(rows: Record<string, number>[]): Record<string, number> {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const out: Record<string, number> = {};
  for (const k of keys) {
    const v = rows.map((r) => r[k]).filter((x): x is number => x !== undefined && !Number.isNaN(x));
    if (v.length) out[k] = v.reduce((a, b) => a + b, 0) / v.length;
  }
  return out;
}
