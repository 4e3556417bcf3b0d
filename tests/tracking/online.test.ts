import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTracker, readRun, syncRun, type TrackerOptions } from "../../src/tracking/index.js";
import { simulateTrainingRun } from "./synthetic-run.js";
import { startFakeWandb, type FakeRun } from "./fake-wandb-server.js";

const API_KEY = "0123456789abcdef0123456789abcdef01234567";
const tmp = () => mkdtempSync(join(tmpdir(), "openr1-online-"));
// Short limits so the failure cases end quickly; the guard timeouts below only stop a hung test.
const fast: Partial<TrackerOptions> = { requestTimeoutMs: 1_000, retries: 1, flushIntervalMs: 50, finishTimeoutMs: 5_000 };

/** What the fake server holds for a run, compared with the run directory's local copy. */
function assertServerMatchesLocal(server: FakeRun, runDir: string): void {
  const local = readRun(runDir);
  const rows = [...server.history.entries()].sort((a, b) => a[0] - b[0]);
  assert.deepEqual(rows.map(([offset]) => offset), local.history.map((_, i) => i), "history lines at offsets 0..n-1");
  assert.deepEqual(rows.map(([, r]) => r._step), local.history.map((r) => r._step));
  for (const [i, [, row]] of rows.entries()) {
    assert.deepEqual(Object.keys(row).sort(), Object.keys(local.history[i]).sort(), `row ${i}: the same keys`);
    for (const [k, v] of Object.entries(local.history[i])) {
      // (a table or other media is a reference whose file names differ between the copies: compare its kind)
      if (typeof v !== "object" || v === null) assert.equal(row[k], v, `row ${i} ${k}`);
      else assert.equal((row[k] as { _type?: string })._type, (v as { _type?: string })._type, `row ${i} ${k}: the same kind of value`);
    }
  }
  assert.deepEqual(server.config, local.config);
  assert.deepEqual(server.complete, { exitcode: 0 });
}

test("online: config, history rows with their steps, summary, the sample table and completion reach W&B", { timeout: 20_000 }, async () => {
  const fake = await startFakeWandb({ apiKey: API_KEY });
  try {
    const runsDir = tmp();
    const warnings: string[] = [];
    const result = await simulateTrainingRun({
      ...fast,
      runsDir,
      project: "openr1-test",
      steps: 40,
      env: { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: fake.url },
      warn: (m) => warnings.push(m),
    });
    assert.deepEqual(warnings, []);
    assert.equal(result.remote, "uploaded");
    const run = fake.run("fake-entity", "openr1-test", result.id);
    assert.ok(run, "the run was created under the key's default entity (Viewer query)");
    assert.equal(fake.requests[0].operation, "Viewer");
    assert.equal(fake.requests[1].operation, "UpsertBucket");
    assert.equal(run.displayName, "synthetic-run");

    // Config as transformers' WandbCallback records it.
    assert.equal(run.config.learning_rate, 2e-4);
    assert.equal(run.config.hidden_size, 896);
    assert.deepEqual((run.config.peft_config as any).default.r, 16);
    assert.equal(run.config["model/num_parameters"], 494_032_768);
    assert.equal((run.config.dataset as any).train_examples, 960);

    // History: a row every 5 steps (logging_steps) and eval rows merged into steps 20 and 40, then the
    // evaluation row at step 40.
    const rows = [...run.history.values()];
    assert.deepEqual(rows.map((r) => r._step), [5, 10, 15, 20, 25, 30, 35, 40]);
    for (const r of rows) {
      assert.equal(r["train/global_step"], r._step);
      for (const k of ["train/loss", "train/learning_rate", "train/grad_norm", "train/epoch", "train/tokens_per_second", "train/num_tokens"]) {
        assert.equal(typeof r[k], "number", `${k} at step ${r._step}`);
      }
    }
    assert.equal(typeof rows[3]["eval/loss"], "number");
    assert.equal(rows[0]["eval/loss"], undefined);
    assert.equal(rows[1]["train/learning_rate"], 2e-4 * 1 * 0.5 * (1 + Math.cos((Math.PI * (10 - 4)) / 36)), "cosine after 4 warmup steps");
    const last = rows[rows.length - 1];
    for (const k of ["eval/accuracy", "eval/rewards/accuracy", "eval/rewards/format", "eval/accuracy/Algebra", "eval/mean_response_length"]) {
      assert.equal(typeof last[k], "number", k);
    }

    // Summary: last values, transformers' single-value scalars, runtime, and the table reference.
    assert.equal(run.summary.train_runtime, 123.4);
    assert.equal(run.summary["eval/accuracy"], last["eval/accuracy"]);
    assert.equal(typeof run.summary._runtime, "number");
    const table = run.summary["eval/samples"] as { _type: string; path: string; nrows: number };
    assert.equal(table._type, "table-file");
    assert.match(table.path, /^media\/table\/eval_samples_40_[0-9a-f]{20}\.table\.json$/);
    const uploaded = JSON.parse(run.files.get(table.path)!);
    assert.deepEqual(uploaded.columns.slice(0, 8), ["problem", "problem_type", "gold", "prediction", "extracted", "correct", "step_score", "response_length"]);
    assert.equal(uploaded.data.length, 30);
    assert.equal(table.nrows, 30);

    assertServerMatchesLocal(run, result.runDir!);
    const meta = readRun(result.runDir!).meta;
    assert.equal(meta.remote.state, "uploaded");
    assert.equal(meta.remote.url, `${fake.url}/fake-entity/openr1-test/runs/${result.id}`);
  } finally {
    await fake.close();
  }
});

test("online honours WANDB_ENTITY and WANDB_PROJECT (no Viewer query)", { timeout: 20_000 }, async () => {
  const fake = await startFakeWandb({ apiKey: API_KEY });
  try {
    const t = createTracker({ ...fast, runsDir: tmp(), env: { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: fake.url, WANDB_ENTITY: "team", WANDB_PROJECT: "proj" } });
    t.log({ a: 1 }, 3);
    assert.equal((await t.finish()).remote, "uploaded");
    assert.ok(!fake.requests.some((r) => r.operation === "Viewer"));
    assert.deepEqual([...fake.run("team", "proj", t.id)!.history.values()].map((r) => r._step), [3]);
  } finally {
    await fake.close();
  }
});

for (const failure of ["error500", "down", "hang"] as const) {
  test(`W&B ${failure}: training finishes with its full local copy, the failure is reported once, and sync uploads it later`, { timeout: 30_000 }, async () => {
    const fake = await startFakeWandb({ apiKey: API_KEY });
    const url = fake.url;
    if (failure === "down") await fake.close();
    else fake.mode = failure;
    const warnings: string[] = [];
    const result = await simulateTrainingRun({
      ...fast,
      runsDir: tmp(),
      steps: 40,
      env: { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: url },
      warn: (m) => warnings.push(m),
    });
    assert.equal(result.remote, "failed");
    // One report when the upload fails, one at finish pointing at `sync`.
    assert.equal(warnings.filter((w) => w.includes("goes on local-only")).length, 1, warnings.join("\n"));
    assert.match(warnings[warnings.length - 1], /openr1 sync/);
    // Bounded: the first call (Viewer) tried 1 + retries times, then nothing more was sent.
    if (failure !== "down") assert.equal(fake.requests.length, 2);

    const local = readRun(result.runDir!);
    assert.equal(local.meta.state, "finished");
    assert.equal(local.meta.remote.state, "failed");
    assert.deepEqual(local.history.map((r) => r._step), [5, 10, 15, 20, 25, 30, 35, 40]);
    assert.equal(typeof local.summary["eval/accuracy"], "number");

    // Later, with W&B back: sync uploads the whole run under the same id.
    const back = await startFakeWandb({ apiKey: API_KEY });
    try {
      const synced = await syncRun(result.runDir!, { env: { WANDB_API_KEY: API_KEY }, baseUrl: back.url, requestTimeoutMs: 1_000 });
      assert.equal(synced.rows, 8);
      assert.equal(synced.tables, 1);
      const run = back.run("fake-entity", local.meta.project, result.id)!;
      assertServerMatchesLocal(run, result.runDir!);
      assert.equal(run.summary["eval/accuracy"], local.summary["eval/accuracy"]);
      assert.equal(run.files.size, 1);
      assert.equal(readRun(result.runDir!).meta.remote.state, "uploaded");
      assert.equal(JSON.parse(readFileSync(join(result.runDir!, "run.json"), "utf8")).remote.url, synced.url);
    } finally {
      await back.close();
      await fake.close();
    }
  });
}

test("a resumed online run: the W&B run holds rows 1..N once and in order, the earlier rows re-sent from offset 0", { timeout: 20_000 }, async () => {
  const fake = await startFakeWandb({ apiKey: API_KEY });
  try {
    const env = { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: fake.url, WANDB_ENTITY: "team", WANDB_PROJECT: "proj", WANDB_RESUME: "allow" };
    const runsDir = tmp();
    const first = createTracker({ ...fast, runsDir, id: "resumed1", env });
    for (let step = 1; step <= 3; step++) first.log({ "train/loss": step }, step);
    first.logTable("eval/samples", { columns: ["q"], data: [["1+1"]] }, 3);
    await first.finish({ exitCode: 1 }); // Ctrl-C: checkpoint at step 3, records closed
    const second = createTracker({ ...fast, runsDir, id: "resumed1", env, resumeFromStep: 3 });
    for (let step = 4; step <= 6; step++) second.log({ "train/loss": step }, step);
    assert.equal((await second.finish()).remote, "uploaded");
    const run = fake.run("team", "proj", "resumed1")!;
    assertServerMatchesLocal(run, second.runDir!);
    assert.deepEqual([...run.history.values()].map((r) => r._step), [1, 2, 3, 4, 5, 6]);
    assert.equal(run.files.size, 1, "the table the earlier part logged is there");
  } finally {
    await fake.close();
  }
});

test("sync sends to WANDB_BASE_URL (or --base-url) over the address the run was recorded with", { timeout: 20_000 }, async () => {
  const dead = await startFakeWandb({ apiKey: API_KEY });
  const recordedUrl = dead.url;
  await dead.close();
  const result = await simulateTrainingRun({ ...fast, runsDir: tmp(), steps: 10, samples: 2, env: { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: recordedUrl }, warn: () => {} });
  assert.equal(readRun(result.runDir!).meta.remote.baseUrl, recordedUrl);
  const fake = await startFakeWandb({ apiKey: API_KEY });
  try {
    await syncRun(result.runDir!, { env: { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: fake.url }, requestTimeoutMs: 1_000 });
    assertServerMatchesLocal(fake.run("fake-entity", readRun(result.runDir!).meta.project, result.id)!, result.runDir!);
  } finally {
    await fake.close();
  }
});

test("sync without an API key names the run and the missing variable", async () => {
  const result = await simulateTrainingRun({ runsDir: tmp(), steps: 10, samples: 2, env: {} });
  await assert.rejects(syncRun(result.runDir!, { env: {} }), /cannot sync without an API key \(set WANDB_API_KEY\)/);
});

test("finish is bounded even when a request never ends: the upload is abandoned, the local copy kept", { timeout: 20_000 }, async () => {
  const fake = await startFakeWandb({ apiKey: API_KEY });
  try {
    fake.mode = "hang";
    const warnings: string[] = [];
    const t = createTracker({ runsDir: tmp(), requestTimeoutMs: 60_000, retries: 0, env: { WANDB_API_KEY: API_KEY, WANDB_BASE_URL: fake.url }, warn: (m) => warnings.push(m) });
    t.log({ a: 1 }, 1);
    const result = await t.finish({ timeoutMs: 300 });
    assert.equal(result.remote, "incomplete");
    assert.match(result.error!, /did not finish within 300 ms/);
    assert.deepEqual(readRun(t.runDir!).history.map((r) => r.a), [1]);
  } finally {
    await fake.close();
  }
});
