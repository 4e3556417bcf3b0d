import { mock, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs, { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { hostname, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { LoraModel } from "../../src/model/lora.js";
import { Qwen2Model } from "../../src/model/qwen2.js";
import { resolveConfig } from "../../src/pipeline/config.js";
import { runPipeline } from "../../src/pipeline/run.js";
import { readRun } from "../../src/tracking/index.js";
import { selectBackend } from "../../src/backend.js";
import type { TrainerCallback } from "../../src/train/callbacks.js";
import { startFakeWandb } from "../tracking/fake-wandb-server.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
/** The embedded default, shortened: the same stages, fewer steps and problems. */
await selectBackend();
const QUICK = ["train.maxSteps=4", "train.logEvery=1", "train.evalEvery=2", "train.saveEvery=2", "eval.numProblems=2", "eval.maxNewTokens=8", "tracking.mode=offline", "rl.enabled=false"];

/** Runs `body` with a fresh temporary folder, removed afterwards whatever happens. */
async function inTempDir(prefix: string, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the main command runs the whole pipeline on the embedded default, and its outputs load", () =>
  inTempDir("openr1-main-", async (out) => {
    const sets = [...QUICK, `outputDir=${out}`].flatMap((s) => ["--set", s]);
    const stdout = execFileSync(process.execPath, ["--import", "tsx", "src/cli.ts", "run", "--no-progress", ...sets], {
      cwd: ROOT, encoding: "utf8", env: { ...process.env, WANDB_API_KEY: "" },
    });
    assert.match(stdout, /Pipeline completed/);
    const runDir = join(out, "default");
    const state = JSON.parse(readFileSync(join(runDir, "pipeline.json"), "utf8"));
    assert.equal(state.status, "completed");
    const r = state.result;
    for (const p of [r.adapterDir, r.mergedDir, r.metricsPath, r.trackingDir]) assert.ok(stdout.includes(p), `the command prints ${p}`);

    // The adapter in peft's format, on the base model it was trained from.
    const adapterConfig = JSON.parse(readFileSync(join(r.adapterDir, "adapter_config.json"), "utf8"));
    assert.equal(adapterConfig.peft_type, "LORA");
    assert.deepEqual([...adapterConfig.target_modules].sort(), ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]);
    const before = tf.memory().numTensors;
    const merged = await Qwen2Model.fromDirectory(r.mergedDir);
    const baseConfig = JSON.parse(readFileSync(join(r.baseModelDir, "config.json"), "utf8"));
    assert.equal(merged.config.vocabSize, baseConfig.vocab_size);
    merged.dispose();
    const lora = await LoraModel.load(await Qwen2Model.fromDirectory(r.baseModelDir), r.adapterDir);
    assert.equal(lora.trainableVariables().size, 2 * 7 * baseConfig.num_hidden_layers, "lora_A and lora_B on 7 modules of every layer");
    lora.dispose();
    lora.base.dispose();
    assert.equal(tf.memory().numTensors, before);
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) assert.ok(existsSync(join(r.mergedDir, f)), `the merged model ships ${f}`);
    assert.ok(!existsSync(join(r.mergedDir, "vocab_map.json")), "its tokenizer files are in the model's ids: no vocab map");
    assert.match(stdout, /What fine-tuning changed:\n\s+training loss \(logged\)\s+[\d.]+ → [\d.]+\n\s+validation loss\s+[\d.]+ → [\d.]+ .*\n\s+accuracy\s+base [\d.]+% → fine-tuned [\d.]+%/);

    // Metrics: training evals and both evaluations.
    const metrics = JSON.parse(readFileSync(r.metricsPath, "utf8"));
    assert.deepEqual(metrics.trainEvals.map((e: { step: number }) => e.step), [0, 2, 4], "the base model's validation loss, then every 2 steps");
    assert.equal(metrics.summary.validationLoss.first, metrics.trainEvals[0].evalLoss);
    assert.equal(metrics.eval.tuned.n, 2);
    assert.equal(metrics.eval.base.n, 2);

    // The tracking run record: config, history at the training steps, summary and the samples table.
    const run = readRun(r.trackingDir);
    assert.equal((run.config.pipeline as { profile: string }).profile, "default");
    assert.ok(run.history.some((h) => h._step === 4 && typeof h["train/loss"] === "number"));
    assert.equal(typeof run.summary["eval/accuracy"], "number");
  }));

test("an interrupted pipeline leaves a checkpoint and a run record, and running it again resumes the same record and W&B run", () =>
  inTempDir("openr1-resume-", async (out) => {
    const apiKey = "0123456789abcdef0123456789abcdef01234567";
    const wandb = await startFakeWandb({ apiKey, lifetimeMs: 120_000 });
    const saved = { key: process.env.WANDB_API_KEY, url: process.env.WANDB_BASE_URL };
    Object.assign(process.env, { WANDB_API_KEY: apiKey, WANDB_BASE_URL: wandb.url });
    try {
      const config = resolveConfig({ overrides: [...QUICK, "tracking.mode=online", `outputDir=${out}`] });
      const controller = new AbortController();
      const stopAt3: TrainerCallback = { onStepEnd: (_l, s) => void (s.globalStep === 3 && controller.abort()) };
      const first = await runPipeline(config, { signal: controller.signal, progress: false, log: () => {}, callbacks: [stopAt3] });
      assert.equal(first.status, "interrupted");
      assert.ok(existsSync(join(first.checkpointsDir, "checkpoint-3")), "checkpointed where it stopped");
      assert.equal(JSON.parse(readFileSync(join(first.runDir, "pipeline.json"), "utf8")).status, "interrupted");
      assert.ok(readRun(first.trackingDir!).history.some((h) => h._step === 3), "the run record has the steps before the stop");

      const lines: string[] = [];
      const second = await runPipeline(config, { progress: false, log: (l) => lines.push(l) });
      assert.equal(second.status, "completed");
      assert.ok(lines.some((l) => /resuming training from .*checkpoint-3/.test(l)));
      const metrics = JSON.parse(readFileSync(second.metricsPath!, "utf8"));
      assert.deepEqual(metrics.trainEvals.map((e: { step: number }) => e.step), [0, 2, 4], "the evaluations before the interruption are kept");
      assert.equal(typeof metrics.train.loss, "number");

      // One run record and one W&B run, holding every step once, in order, from row 1.
      assert.equal(second.trackingDir, first.trackingDir);
      const local = readRun(second.trackingDir!);
      assert.deepEqual(local.history.map((h) => h._step), [0, 1, 2, 3, 4]);
      assert.equal(local.meta.state, "finished");
      assert.ok(local.meta.resumedAt);
      const server = [...wandb.runs.values()];
      assert.equal(server.length, 1);
      const rows = [...server[0]!.history.entries()].sort((a, b) => a[0] - b[0]);
      assert.deepEqual(rows.map(([offset]) => offset), [0, 1, 2, 3, 4]);
      assert.deepEqual(rows.map(([, r]) => r._step), [0, 1, 2, 3, 4]);
      for (const [i, [, row]] of rows.entries()) assert.equal(row["train/loss"], local.history[i]!["train/loss"]);
      assert.deepEqual(server[0]!.complete, { exitcode: 0 });
    } finally {
      Object.assign(process.env, { WANDB_API_KEY: saved.key ?? "", WANDB_BASE_URL: saved.url ?? "" });
      if (saved.url === undefined) delete process.env.WANDB_BASE_URL;
      await wandb.close();
    }
  }));

test("an interruption during evaluation stops after the current batch, and running again goes on from the next problem", () =>
  inTempDir("openr1-eval-stop-", async (out) => {
    const config = resolveConfig({ overrides: [...QUICK, "eval.batchSize=1", `outputDir=${out}`] });
    const controller = new AbortController();
    const onEvalProgress = (label: string, done: number) => void (label === "base" && done === 1 && controller.abort());
    const first = await runPipeline(config, { signal: controller.signal, progress: false, log: () => {}, onEvalProgress });
    assert.equal(first.status, "interrupted");
    assert.equal(JSON.parse(readFileSync(join(first.runDir, "pipeline.json"), "utf8")).status, "interrupted");
    assert.equal(readRun(first.trackingDir!).meta.state, "finished", "the run record is closed");
    const kept = readFileSync(join(first.runDir, "eval", "base.partial.jsonl"), "utf8").trim().split("\n");
    assert.equal(kept.length, 1, "the problem evaluated before the stop is kept");

    const lines: string[] = [];
    const seen: string[] = [];
    const second = await runPipeline(config, { progress: false, log: (l) => lines.push(l), onEvalProgress: (label, done) => void seen.push(`${label} ${done}`) });
    assert.equal(second.status, "completed");
    assert.ok(lines.includes("continuing the base evaluation after 1 of 2 problems"), lines.join("\n"));
    assert.deepEqual(seen, ["base 2", "tuned 1", "tuned 2"], "only the problems not done before are generated");
    const base = readFileSync(join(second.runDir, "eval", "base.samples.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(JSON.stringify(base[0]), kept[0], "the kept sample is the first of the final results");
    assert.ok(!existsSync(join(second.runDir, "eval", "base.partial.jsonl")));
    assert.equal(JSON.parse(readFileSync(second.metricsPath!, "utf8")).eval.tuned.n, 2);
  }));

/** Starts `openr1 run` as a child process; resolves once it prints a line matching `ready`. */
function startRun(out: string, sets: string[], ready: RegExp) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "run", "--no-progress", ...[...sets, `outputDir=${out}`].flatMap((x) => ["--set", x])], {
    cwd: ROOT, env: { ...process.env, WANDB_API_KEY: "" }, stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const started = new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (ready.test(stdout)) resolve();
    });
    void exited.then(() => reject(new Error(`exited before ${ready}: ${stdout}\n${stderr}`)));
  });
  return { child, started, exited, output: () => ({ stdout, stderr }) };
}

const LONG = [...QUICK, "train.maxSteps=40", "train.evalEvery=100", "train.saveEvery=100", "eval.compareBase=false"];

test("SIGTERM (a scheduler, `timeout`) stops a child `openr1 run` after the current step: checkpoint, records closed, exit 130", () =>
  inTempDir("openr1-sigterm-", async (out) => {
    const run = startRun(out, LONG, /train set:/);
    await run.started;
    run.child.kill("SIGTERM");
    assert.equal(await run.exited, 130);
    const { stdout, stderr } = run.output();
    assert.match(stderr, /SIGTERM: stopping after the current training step/);
    assert.match(stdout, /Pipeline interrupted/);
    const state = JSON.parse(readFileSync(join(out, "default", "pipeline.json"), "utf8"));
    assert.equal(state.status, "interrupted");
    const checkpoints = readdirSync(join(out, "default", "train")).filter((d) => /^checkpoint-\d+$/.test(d));
    assert.equal(checkpoints.length, 1);
    assert.ok(Number(checkpoints[0]!.split("-")[1]) < 40, "stopped long before the end");
    const record = readRun(state.result.trackingDir);
    assert.equal(record.meta.state, "finished");
    assert.equal(record.meta.exitCode, 130, "the record says interrupted, as the process's exit code does (1 is a failure)");
  }));

test("a second Ctrl-C quits at once, leaves nothing corrupt and the records closed; running again completes", () =>
  inTempDir("openr1-sigint2-", async (out) => {
    const run = startRun(out, LONG, /train set:/);
    await run.started;
    run.child.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 20));
    run.child.kill("SIGINT");
    assert.equal(await run.exited, 130);
    assert.match(run.output().stderr, /SIGINT again: quitting now/);
    const state = JSON.parse(readFileSync(join(out, "default", "pipeline.json"), "utf8"));
    assert.equal(state.status, "interrupted");
    const record = readRun(state.result.trackingDir);
    assert.equal(record.meta.state, "finished");
    assert.equal(record.meta.exitCode, 130);
    const config = resolveConfig({ overrides: [...LONG, `outputDir=${out}`] });
    const again = await runPipeline(config, { progress: false, log: () => {} });
    assert.equal(again.status, "completed");
    assert.equal(again.trackingDir, state.result.trackingDir, "the same run record goes on");
  }));

test("a different configuration never resumes a run it does not match", () =>
  inTempDir("openr1-mismatch-", async (out) => {
    const a = resolveConfig({ overrides: [...QUICK, "eval.compareBase=false", `outputDir=${out}`] });
    await runPipeline(a, { progress: false, log: () => {} });
    const b = resolveConfig({ overrides: [...QUICK, "eval.compareBase=false", "lora.r=4", `outputDir=${out}`] });
    await assert.rejects(runPipeline(b, { progress: false, log: () => {} }), /different configuration; use --fresh/);
    const sameRunOtherPath = resolveConfig({ overrides: [...QUICK, "eval.compareBase=false", `outputDir=${out}/../${basename(out)}`] });
    const records = () => readdirSync(out).filter((d) => d.startsWith("run-"));
    const before = records();
    // A run recorded before some settings existed (AdamW's betas, the evaluation's check time limit) reads them as
    // their defaults: it is the same run.
    const statePath = join(out, "default", "pipeline.json");
    const recorded = JSON.parse(readFileSync(statePath, "utf8"));
    for (const k of ["beta1", "beta2", "eps", "evalBatchSize", "padToMultipleOf"]) delete recorded.config.train[k];
    delete recorded.config.eval.checkTimeoutMs;
    delete recorded.config.lora.useRslora;
    writeFileSync(statePath, JSON.stringify(recorded));
    const lines: string[] = [];
    const again = await runPipeline(sameRunOtherPath, { progress: false, log: (l) => lines.push(l) });
    assert.equal(again.status, "completed", "the same run reached by another path is recognised");
    assert.ok(lines.some((l) => /is already complete; .*Use --fresh/.test(l)), "a finished run is not run again");
    assert.deepEqual(records(), before, "and no second tracking record appears");
    const fresh = await runPipeline(b, { progress: false, log: () => {}, fresh: true });
    assert.equal(fresh.status, "completed");
  }));

test("`openr1 train --resume` goes on from a checkpoint `openr1 run` made with the same settings, step for step as the run did", () =>
  inTempDir("openr1-train-resume-", async (out) => {
    const cli = (args: string[]) => execFileSync(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, WANDB_API_KEY: "" } });
    const settings = ["train.maxSteps=4", "train.logEvery=1", "train.evalEvery=2", "train.saveEvery=2", "train.keepCheckpoints=2"];
    cli(["run", "--no-progress", ...[...settings, "eval.numProblems=2", "eval.maxNewTokens=8", "eval.compareBase=false", "eval.atCheckpoints=false", "tracking.mode=disabled", `outputDir=${out}`].flatMap((s) => ["--set", s])]);
    const runDir = join(out, "default", "train");
    const state = (dir: string, step: number) => JSON.parse(readFileSync(join(dir, `checkpoint-${step}`, "trainer_state.json"), "utf8"));
    // The run's checkpoints hold the trainer's settings only: none of the pipeline's (method, target, maxSeqLength, …).
    assert.deepEqual(Object.keys(state(runDir, 2).run).sort(), [
      "batchSize", "beta1", "beta2", "epochs", "eps", "examples", "gradientAccumulation", "learningRate", "maxGradNorm", "maxSteps",
      "minLrRatio", "numExamples", "padToMultipleOf", "schedule", "seed", "warmupRatio", "weightDecay",
    ]);
    // `openr1 train` with the same settings, as flags, resumes from the run's checkpoint of step 2.
    const dir = join(out, "train");
    cpSync(join(runDir, "checkpoint-2"), join(dir, "checkpoint-2"), { recursive: true });
    const stdout = cli(["train", "--no-progress", "--output-dir", dir, "--resume", "--max-steps", "4", "--log-every", "1", "--eval-every", "2", "--save-every", "2"]);
    assert.match(stdout, /done: 4\/4 steps/);
    const steps = (history: Record<string, number>[]) => history.map(({ tokens_per_second: _t, ...rest }) => rest);
    assert.deepEqual(steps(state(dir, 4).logHistory), steps(state(runDir, 4).logHistory), "steps 3 and 4 (losses, learning rates, gradient norms, validation losses) as the run made them");
  }));

test("a folder the pipeline did not make is neither resumed nor deleted, even with --fresh", () =>
  inTempDir("openr1-foreign-", async (out) => {
    mkdirSync(join(out, "mine"));
    writeFileSync(join(out, "mine", "thesis.tex"), "precious");
    const config = resolveConfig({ overrides: [...QUICK, `outputDir=${out}`, 'runName="mine"'] });
    await assert.rejects(runPipeline(config, { progress: false, log: () => {}, fresh: true }), /is not a pipeline run \(no pipeline\.json\)/);
    assert.equal(readFileSync(join(out, "mine", "thesis.tex"), "utf8"), "precious");
  }));

test("a truncated pipeline.json is named in the error", () =>
  inTempDir("openr1-state-", async (out) => {
    mkdirSync(join(out, "default"));
    writeFileSync(join(out, "default", "pipeline.json"), "");
    const config = resolveConfig({ overrides: [...QUICK, `outputDir=${out}`] });
    await assert.rejects(runPipeline(config, { progress: false, log: () => {} }), /default\/pipeline\.json: cannot read the run's state/);
  }));

test("a second process on the same run is refused at once; a dead process's lock is taken over", () =>
  inTempDir("openr1-lock-", async (out) => {
    const config = resolveConfig({ overrides: [...QUICK, "eval.compareBase=false", `outputDir=${out}`] });
    const other = spawn("sleep", ["30"]);
    try {
      writeFileSync(join(out, "default.lock"), String(other.pid));
      await assert.rejects(runPipeline(config, { progress: false, log: () => {} }), new RegExp(`run .*default is in use by process ${other.pid}`));
      assert.ok(!existsSync(join(out, "default")), "nothing was written");
    } finally {
      other.kill();
    }
    await new Promise((r) => other.once("exit", r));
    assert.equal((await runPipeline(config, { progress: false, log: () => {} })).status, "completed", "the dead owner's lock is taken over");
    assert.ok(!existsSync(join(out, "default.lock")), "and released");
  }));

/** pipeline.json of the run `default` under `out`. */
const stateOf = (out: string) => JSON.parse(readFileSync(join(out, "default", "pipeline.json"), "utf8"));

test("a stage that fails is recorded as failed with its error: no rows after the filters, the Hub offline, a bad validation count", () =>
  inTempDir("openr1-failed-", async (out) => {
    const saved = { offline: process.env.HF_HUB_OFFLINE, cache: process.env.HF_HUB_CACHE };
    Object.assign(process.env, { HF_HUB_OFFLINE: "1", HF_HUB_CACHE: join(out, "empty-cache") });
    try {
      for (const [set, error] of [
        ["data.filters.maxProblemChars=1", /no examples left after filtering/],
        ['data.source="hub"', /not in the cache .* and offline mode is on/],
        ["data.validation=100000", /validation size 100000 leaves no training examples/],
      ] as const) {
        const config = resolveConfig({ overrides: [...QUICK, set, `outputDir=${out}`] });
        await assert.rejects(runPipeline(config, { progress: false, log: () => {}, fresh: true }), error);
        const state = stateOf(out);
        assert.equal(state.status, "failed", set);
        assert.match(state.error, error);
        assert.equal(state.result.status, "failed");
        assert.ok(!existsSync(join(out, "default.lock")), "the lock is released");
      }
    } finally {
      for (const [k, v] of [["HF_HUB_OFFLINE", saved.offline], ["HF_HUB_CACHE", saved.cache]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }));

/** A config whose data stage fails at once: enough to see that the run folder and the lock were accepted. */
const failsAtData = (out: string) => resolveConfig({ overrides: [...QUICK, "data.filters.maxProblemChars=1", `outputDir=${out}`] });

test("a full disk when a run starts leaves neither a lock nor a half-written file; a folder left by older versions (a 0-byte pipeline.json.tmp) is recognised and cleaned", () =>
  inTempDir("openr1-disk-full-", async (out) => {
    const writeFileSync = fs.writeFileSync;
    // As a full disk does: the file is created, the write fails.
    mock.method(fs, "writeFileSync", (path: string, ...rest: unknown[]) => {
      if (!String(path).endsWith("pipeline.json.tmp")) return (writeFileSync as (...a: unknown[]) => void)(path, ...rest);
      writeFileSync(path, "");
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    });
    syncBuiltinESMExports();
    try {
      await assert.rejects(runPipeline(failsAtData(out), { progress: false, log: () => {} }), /ENOSPC/);
    } finally {
      mock.restoreAll();
      syncBuiltinESMExports();
    }
    assert.deepEqual(readdirSync(out), ["default"]);
    assert.deepEqual(readdirSync(join(out, "default")), [], "no pipeline.json.tmp, no lock");

    for (const fresh of [false, true]) {
      writeFileSync(join(out, "default", "pipeline.json.tmp"), "");
      const lines: string[] = [];
      await assert.rejects(runPipeline(failsAtData(out), { progress: false, log: (l) => lines.push(l), fresh }), /no examples left after filtering/);
      assert.ok(lines.some((l) => /removed pipeline\.json\.tmp, left by a run that could not start/.test(l)), lines.join("\n"));
      assert.equal(stateOf(out).status, "failed");
      rmSync(join(out, "default"), { recursive: true });
      mkdirSync(join(out, "default"));
    }
  }));

test("a run's lock left by PID 1 (a container's entrypoint, kill -9'd, restarted) does not block the run name", () =>
  inTempDir("openr1-pid1-", async (out) => {
    const startTime = Number(readFileSync("/proc/1/stat", "utf8").split(") ")[1]!.split(" ")[19]) + 1000;
    writeFileSync(join(out, "default.lock"), JSON.stringify({ pid: 1, startTime, host: hostname(), token: "x", since: "2026-01-01T00:00:00.000Z" }));
    const lines: string[] = [];
    await assert.rejects(runPipeline(failsAtData(out), { progress: false, log: (l) => lines.push(l) }), /no examples left after filtering/);
    assert.ok(lines.some((l) => /Taking over the stale lock .*default\.lock: process 1 is now another process/.test(l)), lines.join("\n"));
    assert.ok(!existsSync(join(out, "default.lock")));
  }));
