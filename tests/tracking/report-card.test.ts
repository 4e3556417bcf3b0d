import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { accuracyAtCheckpoints, configSummary, formatReportCard, readableSamples, readRun, reportCard, reportCardHtml, runState } from "../../src/tracking/index.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/tracking/report-card/", import.meta.url));
const row = (card: ReturnType<typeof reportCard>, name: string) => card.rows.find((r) => r[0].startsWith(name))!;

test("report card of a real, complete `openr1 run`: base vs fine-tuned by stage, with counts, the checkpoints, tokens and time", () => {
  const run = readRun(join(FIXTURES, "complete"));
  const card = reportCard(run);
  assert.deepEqual(card.state, { finished: true, text: "finished", step: 120, maxSteps: 120 });
  assert.deepEqual(card.columns, ["", "base model", "training", "fine-tuned model"]);
  assert.deepEqual(row(card, "accuracy"), ["accuracy", "3.3 % (4 of 120)", "at step 40: 54.2 %, 80: 70.8 %", "77.5 % (93 of 120)"]);
  assert.deepEqual(row(card, "step-by-step"), ["step-by-step score (0–1)", "0.00", "", "0.73"]);
  assert.deepEqual(row(card, "format"), ["format reward (0–1)", "0.00", "", "0.00"]);
  assert.deepEqual(row(card, "validation loss"), ["validation loss (nats per token)", "1.224", "1.224 → 0.023 at step 120", "0.023"]);
  assert.deepEqual(row(card, "tokens"), ["tokens", "1,215 generated (10 per answer)", "139,476 trained on in 120 steps", "4,664 generated (39 per answer)"]);
  const time = row(card, "wall time");
  assert.match(time[2]!, /^\d+ min \d+ s \(\+ \d+(\.\d)? s evaluating 2 checkpoints\)$/);
  // The stages and the rest add up to the run's wall time.
  assert.ok(card.totalSeconds! > 0 && card.otherSeconds! > 0 && card.otherSeconds! < card.totalSeconds!);
  assert.deepEqual(accuracyAtCheckpoints(run).map((p) => [p.step, (100 * p.accuracy).toFixed(1)]), [[0, "3.3"], [40, "54.2"], [80, "70.8"], [120, "77.5"]]);
  const text = formatReportCard(card);
  assert.match(text, /^Report card\n/);
  assert.doesNotMatch(text + reportCardHtml(card), /NaN|undefined/);
});

test("an interrupted run is reported as unfinished: where it stopped, what it did, — for what it did not get to", () => {
  const run = readRun(join(FIXTURES, "interrupted"));
  const card = reportCard(run);
  assert.equal(card.state.finished, false);
  assert.equal(card.state.text, "interrupted at step 49 of 120: resume it to finish");
  assert.deepEqual(row(card, "accuracy"), ["accuracy", "—", "at step 40: 54.2 %", "—"]);
  assert.deepEqual(row(card, "validation loss"), ["validation loss (nats per token)", "1.224", "1.224 → 0.049 at step 40", "—"]);
  assert.deepEqual(row(card, "tokens").slice(1), ["—", "51,355 trained on in 45 steps", "—"]);
  const text = formatReportCard(card);
  assert.match(text, /^Report card of an UNFINISHED run: interrupted at step 49 of 120/);
  assert.match(reportCardHtml(card), /<b>Unfinished run: interrupted at step 49 of 120: resume it to finish\.<\/b>/);
  assert.doesNotMatch(text + reportCardHtml(card), /NaN|undefined/);
});

test("a run whose process died reads as never finished; one that failed says so with its exit code", () => {
  const dir = mkdtempSync(join(tmpdir(), "openr1-card-"));
  try {
    cpSync(join(FIXTURES, "interrupted"), dir, { recursive: true });
    const meta = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
    writeFileSync(join(dir, "run.json"), JSON.stringify({ ...meta, state: "running", exitCode: undefined, finishedAt: undefined }));
    assert.equal(runState(readRun(dir)).text, "never finished: the process stopped at step 49 of 120 without closing the record");
    writeFileSync(join(dir, "run.json"), JSON.stringify({ ...meta, exitCode: 1 }));
    assert.equal(runState(readRun(dir)).text, "failed at step 49 of 120 (exit code 1)");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the settings in words, and the sample table as a reader wants it", () => {
  const run = readRun(join(FIXTURES, "complete"));
  const settings = Object.fromEntries(configSummary(run).data);
  assert.match(settings.model!, /^qwen2: hidden size 192, 4 layers, vocabulary of 413 tokens$/);
  assert.equal(settings.parameters, "1,872,256, of which 217,088 trained (11.6 %)");
  assert.match(settings["learning rate"]!, /^0\.002, cosine schedule after 12 warmup steps, down to 0\.1 × the peak$/);
  const table = { columns: ["problem", "problem_type", "gold", "prediction", "extracted", "correct", "step_score", "response_length", "reward/step_by_step"], data: [["1 + 1", "a", "2", "…so 2", "", null, 1, 3, 0.7263888]] };
  assert.deepEqual(readableSamples(table), {
    columns: ["problem", "correct answer", "the model's answer", "answer found", "right?", "step-by-step score"],
    data: [["1 + 1", "2", "…so 2", "(none)", "not scorable", "0.73"]],
  });
});
