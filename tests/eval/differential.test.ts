import { test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { projectVerdict, readCases } from "../../tools/math-verify-differential.js";

// Made by tools/math-verify-differential.ts --seed 1 (tests/fixtures/eval/differential/README.md): real OpenR1 answers
// and solutions, generated problems, fractions, large numbers and structured answers (relations, sets, tuples, boxes,
// matrices, …), in equivalent and different forms, judged by the real Math-Verify 0.8.0.
const cases = readCases(fileURLToPath(new URL("../fixtures/eval/differential/seed-1.jsonl", import.meta.url)));

test("agreement with Math-Verify 0.8.0 on the differential set, by harness (ratchet: never lower)", () => {
  assert.ok(cases.length >= 3000, `${cases.length} cases`);
  for (const [harness, floor] of [["compare", FLOOR.compare], ["accuracy", FLOOR.accuracy]] as const) {
    const mine = cases.filter((c) => c.harness === harness);
    const wrong = mine.filter((c) => projectVerdict(c) !== c.expected);
    const agreement = 1 - wrong.length / mine.length;
    assert.ok(agreement >= floor, `${harness}: ${(100 * agreement).toFixed(2)}% < ${100 * floor}%; first disagreements:\n${wrong.slice(0, 5).map((c) => JSON.stringify(c)).join("\n")}`);
  }
});

test("no family the library should get right disagrees with Math-Verify on a malformed-operator completion", () => {
  const malformed = cases.filter((c) => c.family.endsWith("equivalent/malformed-frac"));
  assert.ok(malformed.length > 0);
  for (const c of malformed) assert.equal(projectVerdict(c), c.expected, JSON.stringify(c));
});

// Measured when the set was made: compare 99.78 % (5 of 2,274: README, "Answer checking"), accuracy 99.96 % (1).
const FLOOR = { compare: 0.997, accuracy: 0.999 };
