import { test } from "node:test";
import assert from "node:assert/strict";
import { comparisonFigure, comparisonTable, summaryTable, type ComparisonRow, type EvalSummary } from "../../src/eval/index.js";
import { keyValueHtml, roundNumber, tableHtml } from "../../src/viz/index.js";

const summary = (accuracy: number, stepByStep: number): EvalSummary => ({
  model: "m", n: 120, scored: 120, unscorable: 0, accuracy,
  meanRewards: { correctness: accuracy, accuracy, format: 0, tagCount: 0, reasoningSteps: 0.8611111111111117, equations: 0.6, stepByStep },
  accuracyByProblemType: {}, responseTokens: { mean: 38.86666, median: 39, p90: 45, max: 60 },
  boxedShare: 1, truncatedShare: 0, timedOut: 0, seconds: 3,
});
const rows: ComparisonRow[] = [
  { metric: "accuracy", base: 4 / 120, tuned: 93 / 120, delta: 93 / 120 - 4 / 120 },
  { metric: "reward.tagCount", base: 0, tuned: 0, delta: 0 },
  { metric: "reward.stepByStep", base: 0, tuned: 0.7263888, delta: 0.7263888 },
  { metric: "response_tokens.mean", base: 10.125, tuned: 38.86666, delta: 28.74166 },
  { metric: "boxed_share", base: 1, tuned: 1, delta: 0 },
];

test("comparison and summary tables: metrics in words, shares in percent with counts, rewards to 2 decimals", () => {
  assert.deepEqual(comparisonTable(rows).data, [
    ["accuracy", "3.3 %", "77.5 %", "+74.2 points"],
    ["tag-count reward", "0.00", "0.00", "+0.00"],
    ["step-by-step score", "0.00", "0.73", "+0.73"],
    ["answer length (tokens, mean)", "10.1", "38.9", "+28.7"],
    ["answers with a \\boxed{}", "100.0 %", "100.0 %", "+0.0 points"],
  ]);
  assert.deepEqual(comparisonFigure(rows).data[0]!.x, ["accuracy", "tag-count reward", "step-by-step score", "answers with a \\boxed{}"]);
  const table = summaryTable(summary(4 / 120, 0)).data;
  assert.deepEqual(table.find((r) => r[0] === "accuracy"), ["accuracy", "3.3 % (4 of 120)"]);
  assert.deepEqual(table.find((r) => r[0] === "mean reasoning-steps reward"), ["mean reasoning-steps reward", "0.86"]);
  assert.ok(!JSON.stringify(table).includes("0.03300"));
});

test("HTML tables round measured numbers to 4 significant digits, nested ones too, and keep integers whole", () => {
  assert.equal(roundNumber(0.8611111111111117), "0.8611");
  assert.equal(roundNumber(4 / 120), "0.03333");
  assert.equal(roundNumber(0.033), "0.033");
  assert.equal(roundNumber(217088), "217088");
  const html = keyValueHtml({ epoch: 0.5106382978723404, nested: { min_lr_rate: 0.1, peak: 0.0020000000000000005 } });
  assert.ok(html.includes(">0.5106<"));
  assert.ok(html.includes("{&quot;min_lr_rate&quot;:0.1,&quot;peak&quot;:0.002}"));
  assert.ok(tableHtml({ columns: ["x"], data: [[0.033]] }).includes(">0.033<"));
});
