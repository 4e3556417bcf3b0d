import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadMathExamples, normalizeProblem, type FilterOptions } from "../../src/data/index.js";
import { FILTERS } from "./helpers.js";

// tests/fixtures/data/filters.jsonl, row by row:
//  u1  kept; generation 0 wrong, generation 1 verified and complete -> reasoning = generation 1
//  u2  no verified generation                          -> verifiedCorrect
//  u3  the verified generation is incomplete           -> completeReasoning (when verifiedCorrect is on)
//  u4  blank answer                                    -> nonEmptyAnswer
//  u5  300-character problem                           -> maxProblemChars (< 300)
//  u6  600-character solution                          -> maxSolutionChars (< 600)
//  u7  "  what IS   2+2? " = u1 normalised             -> duplicate
//  u8  empty problem                                   -> emptyProblem (always)
//  (9) no uuid, null list items; kept, reasoning = generation 0
//  u10 its only generation is incomplete               -> completeReasoning
const local = { kind: "local" as const, path: FILTERS };
const load = (filters: FilterOptions) => loadMathExamples(local, { filters });

describe("preprocessing the 14-column schema", () => {
  it("maps columns to MathExample and picks the first verified, complete generation as the reasoning", async () => {
    const { examples } = await load({});
    const u1 = examples.find((e) => e.id === "u1");
    assert.deepEqual(u1, {
      id: "u1",
      problem: "What is 2+2?",
      solution: "2+2=4",
      answer: "4",
      reasoning: "<think>2+2</think> 4",
      problemType: "Algebra",
      questionType: "math-word-problem",
      source: "olympiads",
    });
    const noUuid = examples.find((e) => e.problem === "What is 7+7?");
    assert.equal(noUuid?.reasoning, "14");
    assert.match(noUuid?.id ?? "", /^[0-9a-f]{32}$/, "an id from the problem hash when there is no uuid");
  });

  it("default filters (all on, no length limits) remove exactly the rows each is meant for", async () => {
    const { examples, report } = await load({});
    assert.deepEqual(report, {
      rowsRead: 10,
      removed: { emptyProblem: 1, nonEmptyAnswer: 1, verifiedCorrect: 1, completeReasoning: 2, maxProblemChars: 0, maxSolutionChars: 0, duplicate: 1 },
      kept: 4,
    });
    assert.deepEqual(examples.map((e) => e.problem.slice(0, 12)), ["What is 2+2?", "Long problem", "What is 6+6?", "What is 7+7?"]);
  });

  it("length limits remove the long problem and the long solution", async () => {
    const { report, examples } = await load({ maxProblemChars: 299, maxSolutionChars: 599 });
    assert.equal(report.removed.maxProblemChars, 1);
    assert.equal(report.removed.maxSolutionChars, 1);
    assert.deepEqual(examples.map((e) => e.id).filter((id) => id.startsWith("u")), ["u1"]);
    const atLimit = await load({ maxProblemChars: 300, maxSolutionChars: 600 });
    assert.equal(atLimit.report.kept, 4);
  });

  it("each filter can be turned off on its own", async () => {
    const off = { verifiedCorrect: false, completeReasoning: false, nonEmptyAnswer: false, dedupe: false };
    const none = await load(off);
    assert.equal(none.report.kept, 9, "only the empty problem goes");
    assert.equal((await load({ ...off, verifiedCorrect: true })).report.removed.verifiedCorrect, 1);
    assert.equal((await load({ ...off, nonEmptyAnswer: true })).report.removed.nonEmptyAnswer, 1);
    assert.equal((await load({ ...off, dedupe: true })).report.removed.duplicate, 1);
    // Alone, completeReasoning keeps any row with a complete generation: only u10 has none.
    const complete = await load({ ...off, completeReasoning: true });
    assert.equal(complete.report.removed.completeReasoning, 1);
    assert.ok(complete.examples.some((e) => e.id === "u3") && !complete.examples.some((e) => e.id === "u10"));
    // Kept without a verified, complete trace: no reasoning.
    assert.equal(none.examples.find((e) => e.id === "u2")?.reasoning, undefined);
  });

  it("de-duplicates by normalised problem text (case, whitespace, Unicode compatibility forms)", () => {
    assert.equal(normalizeProblem("  what IS   2+2? "), normalizeProblem("What is 2+2?"));
    assert.equal(normalizeProblem("x\u00a0＝\t1"), "x = 1");
    assert.notEqual(normalizeProblem("What is 2+3?"), normalizeProblem("What is 2+2?"));
  });
});
