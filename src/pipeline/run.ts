import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { SingleBar, Presets } from "cli-progress";
import { readJsonFile } from "../files/read.js";
import { environment } from "../environment.js";
import { selectBackend, type BackendInfo } from "../backend.js";
import { dataSourceFrom, formatFilterReport, prepareDataset, writeSplit, type PreparedDataset } from "../data/index.js";
import type { DatasetSplit } from "../data/types.js";
import { CheckpointEvaluation, compareSummaries, evaluate, loadModelGenerator, readResults, readSamplesFile, saveResults, usablePrevious, type EvalResult } from "../eval/index.js";
import { createTracker, WandbCallback, type Tracker } from "../tracking/index.js";
import { writeFileAtomic, writeJsonAtomic } from "../files/atomic.js";
import { withExclusiveLock } from "../files/lock.js";
import { describeFormatReport, latestCheckpoint, ProgressBarCallback, runTrainJob, type TrainerCallback } from "../train/index.js";
import { evalSettingsOf, pipelineConfigSchema, trainJobOf, type PipelineConfig } from "./config.js";
import type { GrpoCallback } from "../rl/trainer.js";
import { rlCheckpointsDir, rlSummary, runRlStage, type RlSummary } from "./rl-stage.js";

/** "stopped": ended where `until` asked (running again without it goes on from there). */
export type PipelineStatus = "running" | "interrupted" | "stopped" | "completed" | "failed";

/** Where a pipeline run put what it made; also written to `<runDir>/pipeline.json`. */
export interface PipelineResult {
  status: PipelineStatus;
  runDir: string;
  dataDir: string;
  checkpointsDir: string;
  /** The base model the adapter belongs to (HF layout). */
  baseModelDir?: string;
  adapterDir?: string;
  mergedDir?: string;
  /** The RL stage's checkpoints, adapter (on the SFT model) and merged model. */
  rlCheckpointsDir?: string;
  rlAdapterDir?: string;
  rlMergedDir?: string;
  evalDir?: string;
  metricsPath?: string;
  trackingDir?: string;
  trackingMode: string;
  /** What moved: written to metrics.json and printed at the end. */
  summary?: PipelineSummary;
}

/** The numbers that say whether fine-tuning worked, first → last and base → tuned. */
export interface PipelineSummary {
  trainLoss: { first: number; last: number };
  /** The first is the base model's (with train.evalOnStart), the last the fine-tuned model's. */
  validationLoss?: { first: number; last: number };
  accuracy: { base?: number; tuned: number };
  stepByStep: { base?: number; tuned: number };
  /** The RL stage (GRPO after SFT), when it ran. */
  rl?: RlSummary;
}

/** Loss and validation loss first → last from the trainer's log history, accuracy and step-by-step score base → tuned. */
export function pipelineSummary(logHistory: Record<string, number>[], tuned: EvalResult["summary"], base?: EvalResult["summary"]): PipelineSummary {
  const losses = logHistory.filter((h) => "loss" in h).map((h) => h.loss);
  const evals = logHistory.filter((h) => "eval_loss" in h).map((h) => h.eval_loss);
  return {
    trainLoss: { first: losses[0] ?? NaN, last: losses.at(-1) ?? NaN },
    validationLoss: evals.length ? { first: evals[0], last: evals.at(-1)! } : undefined,
    accuracy: { base: base?.accuracy, tuned: tuned.accuracy },
    stepByStep: { base: base?.meanRewards.stepByStep, tuned: tuned.meanRewards.stepByStep },
  };
}

/** The summary as the lines `openr1 run` prints. */
export function describeSummary(s: PipelineSummary): string {
  const f = (x: number) => x.toFixed(3);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const rows: [string, string][] = [["training loss (logged)", `${f(s.trainLoss.first)} → ${f(s.trainLoss.last)}`]];
  if (s.validationLoss) {
    const { first, last } = s.validationLoss;
    rows.push(["validation loss", `${f(first)} → ${f(last)} (${(first / last).toFixed(1)}× lower)`]);
  }
  const { base, tuned } = s.accuracy;
  rows.push(["accuracy", base === undefined ? pct(tuned) : `base ${pct(base)} → fine-tuned ${pct(tuned)} (${(100 * (tuned - base)) >= 0 ? "+" : ""}${(100 * (tuned - base)).toFixed(1)} points)`]);
  const sb = s.stepByStep;
  rows.push(["step-by-step score", sb.base === undefined ? f(sb.tuned) : `base ${f(sb.base)} → fine-tuned ${f(sb.tuned)}`]);
  if (s.rl) {
    const { sft, rl } = s.rl.accuracy;
    const points = 100 * (rl - sft);
    rows.push(["GRPO training reward", `${f(s.rl.reward.first)} → ${f(s.rl.reward.last)} (mean of the first → last quarter of ${s.rl.steps} steps)`]);
    rows.push(["accuracy after RL", `sft ${pct(sft)} → rl ${pct(rl)} (${points >= 0 ? "+" : ""}${points.toFixed(1)} points)`]);
  }
  return rows.map(([k, v]) => `  ${k.padEnd(32)} ${v}`).join("\n");
}

export interface PipelineOptions {
  /**
   * Aborting stops training after the current step (checkpointed) or evaluation after the current batch (its
   * problems kept), and leaves a complete run record; running again goes on from there.
   */
  signal?: AbortSignal;
  /** Discard an earlier run of the same name instead of resuming it. */
  fresh?: boolean;
  /** Terminal progress bars (default: when stderr is a TTY or CI is set). */
  progress?: boolean;
  log?: (line: string) => void;
  /** More trainer callbacks (a notebook's live display, say). */
  callbacks?: TrainerCallback[];
  /** GRPO callbacks for the RL stage (a notebook's live display, say). */
  rlCallbacks?: GrpoCallback[];
  /** After each evaluation batch: which model ("base", "tuned" or "rl") and how many problems are done. */
  onEvalProgress?: (label: string, done: number, total: number) => void;
  /** Stop after this stage: "data" writes the split (for `openr1 export trl`) and trains nothing. */
  until?: "data";
}

interface RunState {
  status: PipelineStatus;
  /** Why the run failed (status "failed"). */
  error?: string;
  config: PipelineConfig;
  trackingId: string;
  startedAt: string;
  updatedAt: string;
  result?: PipelineResult;
}

const stateFile = (runDir: string) => join(runDir, "pipeline.json");
/** The temporary name pipeline.json is written under (writeJsonAtomic). */
const HALF_CREATED = "pipeline.json.tmp";

/** Written whole or not at all: a crash or a full disk never leaves a truncated pipeline.json. */
function writeState(runDir: string, state: RunState): void {
  writeJsonAtomic(stateFile(runDir), { ...state, updatedAt: new Date().toISOString() });
}

function readState(runDir: string): RunState {
  const file = stateFile(runDir);
  try {
    return readJsonFile<RunState>(file, "the run's state");
  } catch (e) {
    const why = (e as Error).message.replace(`${file}: `, "");
    throw new Error(`${file}: cannot read the run's state (${why}); move the folder away or use another --run-name`);
  }
}

/**
 * Opens the run directory: a new run, or the unfinished run of the same name (resumed), refusing to resume
 * a run made with another configuration, since its checkpoints would not match.
 */
function openRun(runDir: string, config: PipelineConfig, fresh: boolean, log: (line: string) => void): { state: RunState; resuming: boolean; completed?: PipelineResult } {
  if (existsSync(runDir) && !existsSync(stateFile(runDir)) && readdirSync(runDir).length > 0) {
    // A run that could not write its first pipeline.json (a full disk) left only that file's temporary: it is ours.
    if (readdirSync(runDir).every((name) => name === HALF_CREATED)) {
      rmSync(join(runDir, HALF_CREATED), { force: true });
      log(`${runDir}: removed ${HALF_CREATED}, left by a run that could not start`);
    } else {
      // Only folders the pipeline made (they hold pipeline.json) are resumed or discarded: never a user's folder.
      throw new Error(`${runDir} exists and is not a pipeline run (no pipeline.json): choose another --run-name or outputDir`);
    }
  }
  if (fresh) rmSync(runDir, { recursive: true, force: true });
  if (existsSync(stateFile(runDir))) {
    const previous = readState(runDir);
    // Where the run directory was reached from (outputDir "runs" or "../runs") does not change the run. The recorded
    // configuration is read as this version reads one: a setting added since takes its default, as it would have.
    const comparable = (c: unknown) => {
      const parsed = pipelineConfigSchema.safeParse(c);
      return parsed.success ? JSON.stringify({ ...parsed.data, outputDir: undefined }) : undefined;
    };
    if (comparable(previous.config) !== comparable(config)) {
      throw new Error(
        `${runDir} holds a run made with a different configuration; use --fresh to discard it or another --run-name (config.runName)`,
      );
    }
    if (previous.status === "completed" && previous.result) return { state: previous, resuming: true, completed: previous.result };
    return { state: { ...previous, status: "running", error: undefined }, resuming: true };
  }
  mkdirSync(runDir, { recursive: true });
  const trackingId = Math.random().toString(36).slice(2, 10).padEnd(8, "0");
  const now = new Date().toISOString();
  return { state: { status: "running", config, trackingId, startedAt: now, updatedAt: now }, resuming: false };
}

function evalProgress(label: string, enabled: boolean): { onProgress?: (done: number, total: number) => void; stop(): void } {
  if (!enabled) return { stop() {} };
  const bar = new SingleBar({ format: `evaluate ${label} |{bar}| {value}/{total} problems | ETA {eta_formatted}`, hideCursor: true }, Presets.shades_classic);
  let started = false;
  return {
    onProgress(done, total) {
      if (!started) bar.start(total, 0), (started = true);
      bar.update(done);
    },
    stop: () => started && bar.stop(),
  };
}

/** The run's data, filtered and split as its configuration says (the pipeline and `openr1 train` alike). */
export function prepareRunData(config: PipelineConfig): Promise<PreparedDataset> {
  const { source, hubConfig, revision, limit, filters, validation, stratify } = config.data;
  return prepareDataset(dataSourceFrom(source, { config: hubConfig, revision }), {
    limit: limit ?? undefined,
    filters: { ...filters, maxProblemChars: filters.maxProblemChars ?? undefined, maxSolutionChars: filters.maxSolutionChars ?? undefined },
    split: { validation, seed: config.seed, stratify },
  });
}

/** data → split → model + LoRA → training → evaluation (base and fine-tuned) → tracking, resumable. */
export async function runPipeline(config: PipelineConfig, options: PipelineOptions = {}): Promise<PipelineResult> {
  const runDir = resolve(config.outputDir, config.runName ?? config.profile);
  mkdirSync(dirname(runDir), { recursive: true });
  // Beside the run folder, not in it: --fresh removes the folder, and must not while another process runs there.
  return withExclusiveLock(`${runDir}.lock`, `The run ${runDir}`, () => runLocked(runDir, config, options), options.log);
}

async function runLocked(runDir: string, config: PipelineConfig, options: PipelineOptions): Promise<PipelineResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const progress = options.progress ?? Boolean(process.stderr.isTTY || environment().ci);
  const { state, resuming, completed } = openRun(runDir, config, options.fresh ?? false, log);
  if (completed) {
    // Nothing to redo: training, evaluation and the records are complete. Saying so beats a second run record.
    log(`Run ${runDir} is already complete; its outputs are listed below. Use --fresh (or another --run-name) to run it again.`);
    return completed;
  }
  const dataDir = join(runDir, "data");
  const checkpointsDir = join(runDir, "train");
  const result: PipelineResult = { status: "running", runDir, dataDir, checkpointsDir, trackingMode: "disabled" };
  writeState(runDir, state);
  log(`${resuming ? "Resuming" : "Starting"} run ${runDir} (profile ${config.profile})`);
  /** A stage that fails before training is recorded as such in pipeline.json, with its error. */
  const fail = (e: unknown): never => {
    writeState(runDir, { ...state, status: "failed", error: (e as Error).message, result: { ...result, status: "failed" } });
    throw e;
  };
  const attempt = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      return fail(e);
    }
  };

  const backend: BackendInfo = await selectBackend(config.backend).catch(fail);
  log(`backend: ${backend.name} via ${backend.source}`);

  // 1. Data: the split is a pure function of the data and the seed, so a resumed run rebuilds the same one.
  const prepared = await prepareRunData(config).catch(fail);
  const split: DatasetSplit = prepared.split;
  await writeSplit(dataDir, split, prepared.report).catch(fail);
  log(formatFilterReport(prepared.report));
  log(`split: ${split.train.length} train / ${split.validation.length} validation → ${dataDir}`);
  if (options.until === "data") {
    result.status = "stopped";
    writeState(runDir, { ...state, status: "stopped", result });
    log(`Stopped after the data stage, as asked: \`openr1 export trl ${runDir}\` hands it to TRL; the same command without --until trains.`);
    return result;
  }

  // 2. Tracking: local run record always, W&B when a key is set (or as configured). A resumed run continues its
  // record and its W&B run from the checkpoint's step.
  const checkpoint = latestCheckpoint(checkpointsDir);
  const tracker: Tracker = attempt(() => createTracker({
    mode: config.tracking.mode === "auto" ? undefined : config.tracking.mode,
    project: config.tracking.project,
    entity: config.tracking.entity ?? undefined,
    name: config.runName ?? config.profile,
    id: state.trackingId,
    resume: resuming ? "allow" : "never",
    // GRPO's rows follow SFT's last step: a run resumed during RL keeps them up to its RL checkpoint.
    resumeFromStep: resuming ? (checkpoint?.step ?? 0) + (latestCheckpoint(rlCheckpointsDir(runDir))?.step ?? 0) : undefined,
    runsDir: config.outputDir,
    config: { pipeline: config, backend: backend.name, dataset: { source: config.data.source, ...prepared.report } },
    warn: (m) => log(`warning: ${m}`),
  }));
  result.trackingMode = tracker.mode;
  result.trackingDir = tracker.runDir;
  const description: ConstructorParameters<typeof WandbCallback>[1] = {
    loraConfig: { ...config.lora },
    dataset: { name: "open-r1/OpenR1-Math-220k", source: config.data.source, train: split.train.length, validation: split.validation.length },
  };
  const wandb = new WandbCallback(tracker, description);
  // A second Ctrl-C exits at once (process.exit): the records are closed, synchronously, on the way out.
  const closeOnExit = () => {
    tracker.closeNow(130);
    writeState(runDir, { ...state, status: "interrupted", result: { ...result, status: "interrupted" } });
  };
  process.once("exit", closeOnExit);
  let error: string | undefined;
  const callbacks: TrainerCallback[] = [wandb, ...(progress ? [new ProgressBarCallback()] : []), ...(options.callbacks ?? [])];
  const evalConfig = evalSettingsOf(config);
  if (config.eval.atCheckpoints && config.train.method === "lora") {
    callbacks.push(new CheckpointEvaluation(tracker, { baseModel: config.model.source, problems: split.validation, signal: options.signal, config: evalConfig }));
  }

  try {
    // 3. Model + LoRA + training, resuming from the last checkpoint of an unfinished run.
    if (checkpoint) log(`resuming training from ${checkpoint.dir}`);
    const job = trainJobOf(config, checkpointsDir);
    const trained = await runTrainJob({
      ...job,
      data: split,
      modelOptions: { ...job.modelOptions, progress },
      resumeFrom: checkpoint ? "latest" : undefined,
      callbacks,
      signal: options.signal,
      onReady: (info) => {
        const modelConfig = JSON.parse(readFileSync(join(info.modelDir, "config.json"), "utf8")) as Record<string, unknown>;
        Object.assign(description, { modelConfig, numParameters: info.parameters.total, numTrainableParameters: info.parameters.trainable });
        log(`model: ${info.modelDir}`);
        log(info.parameters.text);
        log(`train set: ${describeFormatReport(info.train)}`);
      },
    });
    trained.lora?.dispose();
    trained.model.dispose();
    result.baseModelDir = trained.modelDir;
    if (trained.status === "aborted") {
      result.status = "interrupted";
      log(`Interrupted at step ${trained.globalStep}/${trained.maxSteps}; checkpoint ${trained.lastCheckpoint}. Run the same command again to resume.`);
      return result;
    }
    result.adapterDir = trained.adapterDir;
    result.mergedDir = trained.tunedDir;

    // 4. Evaluation: the base model and the merged fine-tuned model on the same validation problems.
    const evalDir = join(runDir, "eval");
    const runEval = async (label: string, model: string): Promise<EvalResult | undefined> => {
      const done = readResults(evalDir, label);
      if (done) {
        log(`${label} evaluation: done before the interruption, kept (${join(evalDir, `${label}.summary.json`)})`);
        return done;
      }
      // Batches are saved as they are scored: an interrupted evaluation goes on where it stopped.
      const partial = join(evalDir, `${label}.partial.jsonl`);
      const chosen = split.validation.slice(0, evalConfig.numProblems ?? undefined);
      const saved = readSamplesFile(partial);
      const previous = saved.slice(0, usablePrevious(saved, chosen, evalConfig.batchSize));
      mkdirSync(evalDir, { recursive: true });
      writeFileAtomic(partial, previous.map((r) => `${JSON.stringify(r)}\n`).join(""));
      if (previous.length > 0) log(`continuing the ${label} evaluation after ${previous.length} of ${chosen.length} problems`);
      const bar = evalProgress(label, progress);
      try {
        const generator = await loadModelGenerator({ model, label });
        const r = await evaluate(generator, split.validation, {
          ...evalConfig,
          previous,
          signal: options.signal,
          onBatch: (samples) => appendFileSync(partial, samples.map((x) => `${JSON.stringify(x)}\n`).join("")),
          onProgress: (n, total) => {
            bar.onProgress?.(n, total);
            options.onEvalProgress?.(label, n, total);
          },
        });
        if (r.interrupted) return undefined;
        saveResults(evalDir, label, r);
        rmSync(partial, { force: true });
        return r;
      } finally {
        bar.stop();
      }
    };
    const stopped = (what: string) => {
      result.status = "interrupted";
      log(`Interrupted during the ${what} evaluation; the problems done are kept. Run the same command again to finish it.`);
      return result;
    };
    const base = config.eval.compareBase ? await runEval("base", trained.modelDir) : undefined;
    if (config.eval.compareBase && !base) return stopped("base model's");
    if (options.signal?.aborted) {
      result.status = "interrupted";
      log("Interrupted before evaluating the fine-tuned model. Run the same command again to evaluate it.");
      return result;
    }
    const tuned = await runEval("tuned", trained.tunedDir!);
    if (!tuned) return stopped("fine-tuned model's");
    wandb.logEvalResult(tuned, trained.globalStep);
    if (base) wandb.summarizeEvalResult(base, "eval_base");
    result.summary = pipelineSummary(trained.logHistory, tuned.summary, base?.summary);

    // 5. RL: GRPO on the fine-tuned model, then its evaluation on the same problems.
    let rlEval: EvalResult | undefined;
    if (config.rl.enabled) {
      const rl = await runRlStage({
        config, runDir, split, startModelDir: trained.tunedDir!, tracker, stepOffset: trained.globalStep, progress, signal: options.signal, log,
        callbacks: options.rlCallbacks, evaluate: runEval,
      });
      result.rlCheckpointsDir = rl.checkpointsDir;
      if (rl.status === "interrupted") {
        result.status = "interrupted";
        return result;
      }
      rlEval = rl.evaluation!;
      result.rlAdapterDir = rl.adapterDir;
      result.rlMergedDir = rl.mergedDir;
      result.summary.rl = rlSummary(rl.logHistory, tuned.summary, rlEval.summary);
      const step = trained.globalStep + result.summary.rl.steps;
      tracker.log({ "rl/eval_accuracy": rlEval.summary.accuracy, "rl/eval_step_by_step": rlEval.summary.meanRewards.stepByStep }, step);
      tracker.setSummary({ "eval_rl/accuracy": rlEval.summary.accuracy });
    }
    const metrics = {
      summary: result.summary,
      train: trained.logHistory.filter((h) => "loss" in h).at(-1),
      // From the log history, so a resumed run keeps the evaluations made before it was interrupted.
      trainEvals: trained.logHistory.filter((h) => "eval_loss" in h).map((h) => ({ step: h.step, evalLoss: h.eval_loss })),
      eval: { tuned: tuned.summary, base: base?.summary, comparison: base ? compareSummaries(base.summary, tuned.summary) : undefined, rl: rlEval?.summary },
    };
    result.evalDir = evalDir;
    result.metricsPath = join(runDir, "metrics.json");
    writeJsonAtomic(result.metricsPath, metrics);
    result.status = "completed";
    return result;
  } catch (e) {
    result.status = "failed";
    error = (e as Error).message;
    throw e;
  } finally {
    process.off("exit", closeOnExit);
    await tracker.finish({ exitCode: result.status === "completed" ? 0 : result.status === "interrupted" ? 130 : 1 });
    writeState(runDir, { ...state, status: result.status, error, result });
  }
}

/** The lines the CLI prints at the end: where everything is. */
export function describeOutputs(r: PipelineResult): string {
  const rows: [string, string | undefined][] = [
    ["run directory", r.runDir],
    ["train/validation data", r.dataDir],
    ["checkpoints", r.checkpointsDir],
    ["adapter (peft format)", r.adapterDir],
    ["merged model (HF format)", r.mergedDir],
    ["GRPO checkpoints", r.rlCheckpointsDir],
    ["GRPO adapter (on the SFT model)", r.rlAdapterDir],
    ["GRPO merged model (HF format)", r.rlMergedDir],
    ["evaluation samples + summaries", r.evalDir],
    ["metrics", r.metricsPath],
    [`tracking run (${r.trackingMode})`, r.trackingDir],
  ];
  return rows.filter(([, v]) => v).map(([k, v]) => `  ${k.padEnd(32)} ${v}`).join("\n");
}
