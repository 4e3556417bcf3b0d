import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { selectBackend } from "../../src/backend.js";
import { resolveConfig } from "../../src/pipeline/config.js";
import { runPipeline } from "../../src/pipeline/run.js";
import type { GrpoCallback } from "../../src/rl/trainer.js";
import { readRun } from "../../src/tracking/index.js";

await selectBackend();
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The embedded default with every stage shortened, the RL stage included. */
const QUICK = [
  "train.maxSteps=4", "train.logEvery=2", "train.evalEvery=100", "train.saveEvery=4", "eval.numProblems=2", "eval.maxNewTokens=8", "eval.compareBase=false",
  "rl.maxSteps=3", "rl.promptsPerStep=2", "rl.numGenerations=2", "rl.maxCompletionLength=8", "rl.saveEvery=1", "tracking.mode=offline",
];

async function inTempDir(prefix: string, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("`openr1 run` ends with the RL stage: GRPO after SFT, its evaluation, and an `accuracy after RL  sft … → rl …` line", () =>
  inTempDir("openr1-rl-", async (out) => {
    const sets = [...QUICK, `outputDir=${out}`].flatMap((s) => ["--set", s]);
    const stdout = execFileSync(process.execPath, ["--import", "tsx", "src/cli.ts", "run", "--no-progress", ...sets], {
      cwd: ROOT, encoding: "utf8", env: { ...process.env, WANDB_API_KEY: "" },
    });
    assert.match(stdout, /\n {2}accuracy after RL\s+sft \d+\.\d% → rl \d+\.\d% \([+-]\d+\.\d points\)\n/);
    assert.match(stdout, /GRPO training reward\s+[\d.]+ → [\d.]+ \(mean of the first → last quarter of 3 steps\)/);
    const r = JSON.parse(readFileSync(join(out, "default", "pipeline.json"), "utf8")).result;
    assert.ok(existsSync(join(r.rlAdapterDir, "adapter_model.safetensors")), "the RL adapter, on the SFT model");
    assert.ok(existsSync(join(r.rlMergedDir, "model.safetensors")));
    assert.ok(existsSync(join(out, "default", "eval", "rl.summary.json")));
    const metrics = JSON.parse(readFileSync(r.metricsPath, "utf8"));
    assert.equal(metrics.eval.rl.n, 2);
    assert.equal(metrics.summary.rl.accuracy.sft, metrics.eval.tuned.accuracy);
    // One run record: SFT's rows at steps 2 and 4, GRPO's (rl/…) after them, with TRL's metric names, and the completions table.
    const run = readRun(r.trackingDir);
    const rl = run.history.filter((h) => typeof h["rl/reward"] === "number");
    assert.deepEqual(rl.map((h) => h._step), [5, 6, 7]);
    assert.deepEqual(rl.map((h) => h["rl/global_step"]), [1, 2, 3]);
    for (const k of ["rl/loss", "rl/completions/mean_length", "rl/rewards/accuracy/mean", "rl/reward_std", "rl/frac_reward_zero_std"]) assert.equal(typeof rl[0]![k], "number", k);
    assert.ok(rl.every((h) => typeof h["rl/completions"] === "object"), "the completions table at each log");
    assert.equal(typeof run.summary["eval_rl/accuracy"], "number");
  }));

test("a run interrupted during GRPO resumes from the RL checkpoint, keeping the record's rows up to it", () =>
  inTempDir("openr1-rl-resume-", async (out) => {
    const config = resolveConfig({ overrides: [...QUICK, `outputDir=${out}`] });
    const controller = new AbortController();
    const stopAt2: GrpoCallback = { onStepEnd: (_l, s) => void (s.globalStep === 2 && controller.abort()) };
    const first = await runPipeline(config, { signal: controller.signal, progress: false, log: () => {}, rlCallbacks: [stopAt2] });
    assert.equal(first.status, "interrupted");
    assert.ok(existsSync(join(first.rlCheckpointsDir!, "checkpoint-2")));
    const lines: string[] = [];
    const second = await runPipeline(config, { progress: false, log: (l) => lines.push(l) });
    assert.equal(second.status, "completed");
    assert.ok(lines.some((l) => /resuming GRPO from .*checkpoint-2/.test(l)));
    const rows = readRun(second.trackingDir!).history.filter((h) => typeof h["rl/reward"] === "number");
    assert.deepEqual(rows.map((h) => h["rl/global_step"]), [1, 2, 3], "each GRPO step once, in order");
    assert.equal(second.summary!.rl!.steps, 3);
  }));
