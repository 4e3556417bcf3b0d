import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { normalizeProblem, splitExamples, type MathExample } from "../../src/data/index.js";

const TYPES = ["Algebra", "Geometry", "Number Theory", "Combinatorics"];
/** 400 synthetic examples, problem types 50/25/15/10 %. */
function examples(n = 400, offset = 0): MathExample[] {
  return Array.from({ length: n }, (_, k) => {
    const i = k + offset;
    const r = i % 20;
    const problemType = r < 10 ? TYPES[0] : r < 15 ? TYPES[1] : r < 18 ? TYPES[2] : TYPES[3];
    return { id: `id${i}`, problem: `Problem number ${i}: compute ${i} + 1.`, solution: "", answer: String(i + 1), problemType, questionType: "math-word-problem", source: "s" };
  });
}
const ids = (xs: MathExample[]) => new Set(xs.map((x) => x.id));

describe("train/validation split", () => {
  it("is deterministic for a seed, different for another seed, and order-independent", () => {
    const data = examples();
    const a = splitExamples(data, { validation: 0.2, seed: 1 });
    const b = splitExamples([...data].reverse(), { validation: 0.2, seed: 1 });
    assert.deepEqual(ids(a.validation), ids(b.validation));
    const c = splitExamples(data, { validation: 0.2, seed: 2 });
    assert.notDeepEqual(ids(a.validation), ids(c.validation));
    assert.equal(a.train.length + a.validation.length, 400);
  });

  it("a fraction gives about that share; a count gives exactly that many", () => {
    const byFraction = splitExamples(examples(), { validation: 0.2, seed: 3 });
    // Binomial(400, 0.2): sd 8; 5 sd either side.
    assert.ok(Math.abs(byFraction.validation.length - 80) <= 40, `${byFraction.validation.length}`);
    assert.equal(splitExamples(examples(), { validation: 37, seed: 3 }).validation.length, 37);
    assert.equal(splitExamples(examples(), { validation: 0.2, seed: 3, stratify: true }).validation.length, 80);
  });

  it("is stable when rows are added: with a fraction no old row changes side", () => {
    const before = splitExamples(examples(400), { validation: 0.2, seed: 7 });
    const after = splitExamples(examples(600), { validation: 0.2, seed: 7 });
    const afterVal = ids(after.validation);
    for (const e of before.validation) assert.ok(afterVal.has(e.id));
    for (const e of before.train) assert.ok(!afterVal.has(e.id));
  });

  it("with a count, added rows can only push validation rows into train, never the reverse", () => {
    const before = splitExamples(examples(400), { validation: 50, seed: 7 });
    const after = splitExamples(examples(600), { validation: 50, seed: 7 });
    const afterVal = ids(after.validation);
    for (const e of before.train) assert.ok(!afterVal.has(e.id), `${e.id} moved from train to validation`);
    const kept = before.validation.filter((e) => afterVal.has(e.id)).length;
    assert.ok(kept > 0 && kept < 50);
  });

  it("stratifies by problem type: each type's validation count is its share of the total", () => {
    const split = splitExamples(examples(), { validation: 40, seed: 11, stratify: true });
    const count = (t: string) => split.validation.filter((e) => e.problemType === t).length;
    assert.deepEqual(TYPES.map(count), [20, 10, 6, 4]);
    const fraction = splitExamples(examples(), { validation: 0.1, seed: 11, stratify: true });
    assert.deepEqual(TYPES.map((t) => fraction.validation.filter((e) => e.problemType === t).length), [20, 10, 6, 4]);
  });

  it("never puts the same problem text on both sides, even with duplicates left in", () => {
    const data = examples(200);
    const dupes = data.slice(0, 100).map((e, i) => ({ ...e, id: `dup${i}`, problem: `  ${e.problem.toUpperCase()} ` }));
    for (const options of [{ validation: 0.3 }, { validation: 61 }, { validation: 0.3, stratify: true }]) {
      const split = splitExamples([...data, ...dupes], { ...options, seed: 5 });
      const trainProblems = new Set(split.train.map((e) => normalizeProblem(e.problem)));
      for (const e of split.validation) assert.ok(!trainProblems.has(normalizeProblem(e.problem)), e.problem);
    }
  });

  it("rejects sizes that make no sense", () => {
    assert.throws(() => splitExamples(examples(10), { validation: 0 }), /Split: validation must be an integer count ≥ 1 or a fraction in \(0, 1\), got 0/);
    assert.throws(() => splitExamples(examples(10), { validation: 2.5 }), /integer/);
    assert.throws(() => splitExamples(examples(10), { validation: 10 }), /leaves no training examples/);
  });
});
