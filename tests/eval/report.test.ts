import { test } from "node:test";
import assert from "node:assert/strict";
import { accuracyByGroup, accuracyByGroupFigure, sideBySideTable, type SampleResult } from "../../src/eval/index.js";

const sample = (id: string, prediction: string, correct: boolean | null): SampleResult => ({
  id,
  problem: `Problem ${id}`,
  problemType: "Algebra",
  gold: "6",
  prediction,
  extracted: null,
  status: correct === null ? "unscorable" : correct ? "correct" : "incorrect",
  correct,
  timedOut: false,
  rewards: { correctness: correct === null ? null : Number(correct), accuracy: null, format: 0, tagCount: 0, reasoningSteps: 0, equations: 0, stepByStep: 0 },
  steps: 0,
  numTokens: 3,
  finishReason: "eos",
  hasBoxed: false,
  truncated: false,
});

const base = [sample("a", "The answer is 5.", false), sample("b", "The answer is 6.", true), sample("c", "?", null)];
const tuned = [sample("a", "First, 2 + 4 = 6.", true), sample("b", "First, 3 + 3 = 6.", true), sample("c", "?", null)];

test("sideBySideTable: one row per problem with both answers and marks; refuses samples of different problems", () => {
  const t = sideBySideTable(base, tuned, ["before", "after"]);
  assert.deepEqual(t.columns, ["problem", "gold", "before answer", "before", "after answer", "after"]);
  assert.deepEqual(t.data[0], ["Problem a", "6", "The answer is 5.", "✗", "First, 2 + 4 = 6.", "✓"]);
  assert.equal(t.data[2]![3], "unscorable");
  assert.equal(sideBySideTable(base.slice(0, 2), tuned).data.length, 2);
  assert.throws(() => sideBySideTable([base[1]!], [tuned[0]!]), /problem b on one side and a on the other/);
});

test("accuracyByGroup and its figure: accuracy per group, unscorable samples left out, groups in numeric order", () => {
  const groupOf = (s: SampleResult) => (s.id === "a" ? "10 steps" : "2 steps");
  assert.deepEqual(accuracyByGroup(base, groupOf), { "10 steps": { n: 1, correct: 0, accuracy: 0 }, "2 steps": { n: 1, correct: 1, accuracy: 1 } });
  const fig = accuracyByGroupFigure([{ label: "base", samples: base }, { label: "tuned", samples: tuned }], groupOf);
  assert.deepEqual(fig.data.map((d) => d.name), ["base", "tuned"]);
  assert.deepEqual(fig.data[0]!.x, ["2 steps", "10 steps"]);
  assert.deepEqual(fig.data[0]!.y, [1, 0]);
  assert.deepEqual(fig.data[1]!.y, [1, 1]);
});
