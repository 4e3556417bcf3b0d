import { test } from "node:test";
import assert from "node:assert/strict";
import { lrFactor, warmupStepsFromRatio } from "../../src/train/index.js";

// References: transformers' schedules written out by hand (warmup 2, 10 total steps).
// cosine: 0.5·(1 + cos(π·p)), p = (s − 2)/8; with min_lr_rate r: f·(1 − r) + r; linear: (10 − s)/8.
const base = { warmupSteps: 2, totalSteps: 10 };

test("linear warmup: step/warmup, the first update at lr 0", () => {
  for (const kind of ["cosine", "linear", "constant"] as const) {
    assert.equal(lrFactor(0, { ...base, kind }), 0);
    assert.equal(lrFactor(1, { ...base, kind }), 0.5);
    assert.equal(lrFactor(2, { ...base, kind }), 1);
  }
});

test("cosine decay (get_cosine_schedule_with_warmup)", () => {
  const expected: [number, number][] = [[3, 0.9619397662556434], [4, 0.8535533905932737], [6, 0.5], [8, 0.1464466094067262], [10, 0]];
  for (const [s, f] of expected) assert.ok(Math.abs(lrFactor(s, { ...base, kind: "cosine" }) - f) < 1e-12, `step ${s}`);
});

test("cosine with a floor (get_cosine_with_min_lr_schedule_with_warmup, min_lr_rate 0.1)", () => {
  const expected: [number, number][] = [[2, 1], [6, 0.55], [8, 0.23180194846605358], [10, 0.1]];
  for (const [s, f] of expected) assert.ok(Math.abs(lrFactor(s, { ...base, kind: "cosine", minLrRatio: 0.1 }) - f) < 1e-12, `step ${s}`);
});

test("linear decay (get_linear_schedule_with_warmup)", () => {
  const expected: [number, number][] = [[2, 1], [4, 0.75], [6, 0.5], [10, 0], [12, 0]];
  for (const [s, f] of expected) assert.equal(lrFactor(s, { ...base, kind: "linear" }), f);
});

test("warmup_ratio → ceil(ratio · total)", () => {
  assert.equal(warmupStepsFromRatio(0.1, 12), 2);
  assert.equal(warmupStepsFromRatio(0.1, 10), 1);
  assert.equal(warmupStepsFromRatio(0, 10), 0);
});
