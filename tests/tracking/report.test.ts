import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { registerTrackingCommands } from "../../src/cli/tracking.js";
import { formatRunReport, latestRunDir, latestTable, readRun, rewardColumns, summaryGroup, tableColumn } from "../../src/tracking/index.js";
import { simulateTrainingRun } from "./synthetic-run.js";
import { startFakeWandb } from "./fake-wandb-server.js";

async function runCli(args: string[]): Promise<{ out: string; err: string; exitCode: number }> {
  const out: string[] = [];
  const err: string[] = [];
  const [log, error] = [console.log, console.error];
  process.exitCode = 0;
  console.log = (m: string) => out.push(m);
  console.error = (m: string) => err.push(m);
  try {
    const program = new Command().exitOverride();
    registerTrackingCommands(program);
    await program.parseAsync(["node", "openr1", ...args]);
    return { out: out.join("\n"), err: err.join("\n"), exitCode: Number(process.exitCode ?? 0) };
  } finally {
    [console.log, console.error] = [log, error];
    process.exitCode = 0;
  }
}

test("a run's sample table, per-type accuracy and report", async () => {
  const runsDir = mkdtempSync(join(tmpdir(), "openr1-report-"));
  const result = await simulateTrainingRun({ runsDir, steps: 20, loggingSteps: 5, evalSteps: 10, samples: 10, env: {} });
  const run = readRun(result.runDir!);
  const table = latestTable(run, "eval/samples")!;
  assert.equal(table.data.length, 10);
  const correct = tableColumn(table, "correct") as boolean[];
  assert.equal(run.summary["eval/accuracy"], correct.filter(Boolean).length / 10);
  assert.deepEqual(tableColumn(table, "reward/accuracy"), correct.map((c) => (c ? 1 : 0)));
  assert.throws(() => tableColumn(table, "nope"), /no column "nope" \(columns: problem, /);
  assert.deepEqual(Object.keys(summaryGroup(run, "eval/accuracy/")).sort(), ["Algebra", "Calculus", "Combinatorics", "Geometry", "Number Theory"]);

  const report = formatRunReport(run);
  assert.match(report, new RegExp(`Run ${result.id} "synthetic-run" — offline, project openr1-ts`));
  assert.match(report, /State: finished with exit code 0/);
  assert.match(report, /\nReport card\n/);
  const accuracy = run.summary["eval/accuracy"] as number;
  assert.match(report, new RegExp(`accuracy .* ${(100 * accuracy).toFixed(1)} % \\(${Math.round(10 * accuracy)} of 10\\)`));
  assert.match(report, /History: 4 rows, steps 5–20; config: \d+ keys/);
  assert.match(report, /Samples: 10 rows × 10 columns/);
  assert.doesNotMatch(report, /NaN/);

  const cli = await runCli(["report", result.runDir!]);
  assert.equal(cli.out, report);
  const saved = process.env.WANDB_DIR;
  process.env.WANDB_DIR = runsDir;
  try {
    assert.equal((await runCli(["report"])).out, report, "without RUN_DIR: the latest run under $WANDB_DIR");
  } finally {
    if (saved === undefined) delete process.env.WANDB_DIR;
    else process.env.WANDB_DIR = saved;
  }
});

test("CLI: report on a folder that is not a run, and sync, say what is wrong; sync uploads", async () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-report-"));
  const bad = await runCli(["report", dir]);
  assert.equal(bad.exitCode, 1);
  assert.match(bad.err, new RegExp(`error: ${dir}: not a run directory`));

  const result = await simulateTrainingRun({ runsDir: dir, steps: 10, samples: 3, env: {} });
  const apiKey = "a".repeat(40);
  const fake = await startFakeWandb({ apiKey });
  const saved = process.env.WANDB_API_KEY;
  process.env.WANDB_API_KEY = apiKey;
  try {
    const sync = await runCli(["sync", result.runDir!, "--base-url", fake.url, "--entity", "me"]);
    assert.equal(sync.exitCode, 0, sync.err);
    assert.equal(sync.out, `Synced 2 history rows and 1 table(s): ${fake.url}/me/openr1-ts/runs/${result.id}`);
    assert.deepEqual(fake.run("me", "openr1-ts", result.id)?.complete, { exitcode: 0 });
  } finally {
    if (saved === undefined) delete process.env.WANDB_API_KEY;
    else process.env.WANDB_API_KEY = saved;
    await fake.close();
  }
});

test("a report reads the latest run under a folder, its sample table and reward columns", async () => {
  const runsDir = join(mkdtempSync(join(tmpdir(), "openr1-report-")), "runs");
  assert.throws(() => latestRunDir(runsDir), /no run directories/);
  const recorded = await simulateTrainingRun({ runsDir, steps: 4, samples: 3, env: {} });
  assert.equal(latestRunDir(runsDir), recorded.runDir);
  const run = readRun(latestRunDir(runsDir));
  assert.equal(run.meta.mode, "offline");
  const samples = latestTable(run, "eval/samples")!;
  assert.deepEqual(rewardColumns(samples).accuracy, (tableColumn(samples, "correct") as boolean[]).map(Number));
  assert.throws(() => readRun(join(runsDir, "nope")), /nope: not a run directory/);
});
