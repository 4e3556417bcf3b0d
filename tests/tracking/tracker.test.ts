import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTracker, readRun, readTable, latestRunDir, resolveTrackingMode, isTableRef } from "../../src/tracking/index.js";

const tmp = () => mkdtempSync(join(tmpdir(), "openr1-tracking-"));

test("without an API key the default is offline; WANDB_MODE / WANDB_DISABLED / the option override it", () => {
  assert.equal(resolveTrackingMode({ env: {} }).mode, "offline");
  assert.equal(resolveTrackingMode({ env: { WANDB_API_KEY: "k" } }).mode, "online");
  assert.equal(resolveTrackingMode({ env: { WANDB_API_KEY: "k", WANDB_MODE: "offline" } }).mode, "offline");
  assert.equal(resolveTrackingMode({ env: { WANDB_API_KEY: "k", WANDB_MODE: "dryrun" } }).mode, "offline");
  assert.equal(resolveTrackingMode({ env: { WANDB_API_KEY: "k", WANDB_MODE: "disabled" } }).mode, "disabled");
  assert.equal(resolveTrackingMode({ env: { WANDB_DISABLED: "true" } }).mode, "disabled");
  assert.equal(resolveTrackingMode({ env: { WANDB_MODE: "online" } }).mode, "offline", "online needs a key");
  assert.equal(resolveTrackingMode({ mode: "disabled", env: { WANDB_API_KEY: "k" } }).mode, "disabled");
  assert.throws(() => resolveTrackingMode({ env: { WANDB_MODE: "sometimes" } }), /WANDB_MODE="sometimes"/);
});

test("disabled writes nothing", async () => {
  const runsDir = tmp();
  const t = createTracker({ mode: "disabled", runsDir, env: {} });
  t.log({ a: 1 });
  t.setSummary({ b: 2 });
  assert.equal(t.runDir, undefined);
  assert.deepEqual(await t.finish(), { remote: "none" });
  assert.deepEqual(readdirSync(runsDir), []);
});

test("offline: config, history rows with _step, summary and tables in plain files", async () => {
  const runsDir = tmp();
  const t = createTracker({ runsDir, env: { WANDB_PROJECT: "proj" }, config: { lr: 1e-4 } });
  assert.equal(t.mode, "offline");
  t.updateConfig({ lora: { r: 8 } });
  t.log({ "train/loss": 2.5 }, 5);
  t.log({ "eval/loss": 2.7 }, 5); // same step: merges into one row
  t.log({ "train/loss": 2.0 }, 10);
  t.log({ "train/loss": 9.9 }, 7); // lower than the current step: dropped, as in W&B
  t.log({ x: 1 }); // no step: the next one
  t.logTable("eval/samples", { columns: ["q", "ok"], data: [["1+1", true], ["2+2", false]] }, 11);
  t.setSummary({ "eval/accuracy": 0.5 });

  // Everything logged is on disk before finish: a crash here loses nothing.
  const lines = readFileSync(join(t.runDir!, "history.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l._step), [5, 5, 10, 11, 11]);

  const result = await t.finish();
  assert.equal(result.remote, "none");
  const run = readRun(t.runDir!);
  assert.equal(run.meta.project, "proj");
  assert.equal(run.meta.state, "finished");
  assert.deepEqual(run.config, { lr: 1e-4, lora: { r: 8 } });
  assert.deepEqual(run.history.map((r) => r._step), [5, 10, 11]);
  assert.equal(run.history[0]["train/loss"], 2.5);
  assert.equal(run.history[0]["eval/loss"], 2.7);
  assert.equal(run.history[2].x, 1);
  assert.equal(run.summary["train/loss"], 2.0, "summary keeps each key's last value");
  assert.equal(run.summary["eval/accuracy"], 0.5);
  assert.equal(typeof run.summary._runtime, "number");
  const ref = run.history[2]["eval/samples"];
  assert.ok(isTableRef(ref));
  assert.equal(ref.nrows, 2);
  assert.deepEqual(readTable(run.dir, ref), { columns: ["q", "ok"], data: [["1+1", true], ["2+2", false]] });
  assert.equal(latestRunDir(runsDir), run.dir);
});

test("a history line cut short by a crash is skipped and reported, the rows before it are kept", async () => {
  const t = createTracker({ runsDir: tmp(), env: {} });
  t.log({ a: 1 }, 0);
  t.log({ a: 2 }, 1);
  appendFileSync(join(t.runDir!, "history.jsonl"), '{"a": 3, "_st');
  const run = readRun(t.runDir!);
  assert.deepEqual(run.history.map((r) => r.a), [1, 2]);
  assert.match(run.warnings[0], /history\.jsonl:3: skipped/);
  await t.finish();
});

test("a folder that is not a run is named in the error", () => {
  const dir = tmp();
  assert.throws(() => readRun(dir), new RegExp(`${dir}: not a run directory`));
  assert.throws(() => latestRunDir(dir), /no run directories/);
  assert.ok(!existsSync(join(dir, "run.json")));
});

test("summary: a logged value replaces a value set before it; a run that died still has its last values", async () => {
  const t = createTracker({ runsDir: tmp(), env: {} });
  t.setSummary({ acc: 0.1, note: "set" });
  t.log({ acc: 0.2, loss: 3 }, 1);
  t.log({ loss: 2 }, 2);
  const died = readRun(t.runDir!); // before finish: summary.json still holds only what was set
  assert.equal(died.summary.loss, 2);
  await t.finish();
  const run = readRun(t.runDir!);
  assert.equal(run.summary.acc, 0.2);
  assert.equal(run.summary.note, "set");
  assert.equal(run.summary.loss, 2);
});

test("resume: a run continues its own record — rows after the checkpoint's step dropped, step and runtime carried on", async () => {
  const runsDir = tmp();
  const first = createTracker({ runsDir, id: "resume01", env: {}, config: { lr: 1 } });
  for (let step = 1; step <= 7; step++) first.log({ "train/loss": 10 - step }, step);
  // The process dies at step 7 without finishing (kill -9); its last checkpoint was at step 5. A line cut short too:
  appendFileSync(join(first.runDir!, "history.jsonl"), '{"_step": 8, "train/lo');
  const second = createTracker({ runsDir, id: "resume01", env: { WANDB_RESUME: "allow" }, resumeFromStep: 5, config: { seed: 2 } });
  assert.equal(second.runDir, first.runDir, "the same directory");
  for (let step = 6; step <= 8; step++) second.log({ "train/loss": 100 + step }, step);
  await second.finish();
  assert.deepEqual(readdirSync(runsDir), [first.runDir!.split("/").at(-1)], "one record of the run");
  const run = readRun(second.runDir!);
  assert.deepEqual(run.warnings, []);
  assert.deepEqual(run.history.map((h) => [h._step, h["train/loss"]]), [[1, 9], [2, 8], [3, 7], [4, 6], [5, 5], [6, 106], [7, 107], [8, 108]]);
  assert.ok((run.history[5]!._runtime as number) >= (run.history[4]!._runtime as number), "runtime goes on from the earlier part");
  assert.deepEqual(run.config, { lr: 1, seed: 2 });
  assert.equal(run.meta.state, "finished");
  assert.ok(run.meta.resumedAt);
  assert.equal(run.summary["train/loss"], 108);
});

test("resume modes: never refuses an id that has a record, must requires one, anything else is named", () => {
  const runsDir = tmp();
  const a = createTracker({ runsDir, id: "resume02", env: {} });
  a.log({ x: 1 }, 1);
  assert.throws(() => createTracker({ runsDir, id: "resume02", env: { WANDB_RESUME: "never" } }), /Run resume02 already has a record \(.*run-\d+_\d+-resume02\): set WANDB_RESUME=allow/);
  assert.equal(createTracker({ runsDir, id: "resume02", env: { WANDB_RESUME: "must" } }).runDir, a.runDir);
  assert.throws(() => createTracker({ runsDir, id: "nosuchid", env: { WANDB_RESUME: "must" } }), /Cannot resume run nosuchid: no record of it under/);
  assert.throws(() => createTracker({ runsDir, id: "resume02", env: { WANDB_RESUME: "sometimes" } }), /WANDB_RESUME="sometimes": expected allow, must or never/);
});
