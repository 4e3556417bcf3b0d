import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { checkAnswer, recordOptions, type ScoreRecordOptions } from "../../src/eval/index.js";

interface Case extends ScoreRecordOptions {
  gold: string;
  pred: string;
  expected: boolean;
  source: string;
  harness: string;
}

const cases: Case[] = readFileSync(new URL("../fixtures/eval/cases.jsonl", import.meta.url), "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l) as Case);

test("Math-Verify 0.8.0 cases: at least 95% agree with the real library", () => {
  const disagreements: string[] = [];
  for (const c of cases) {
    // compare_strings cases carry their harness settings; the verify(parse(gold), parse(pred)) ones use parse's defaults.
    const options = c.harness === "compare_strings" ? recordOptions(c) : { boxedPriority: 50 };
    const got = checkAnswer(c.gold, c.pred, options).correct;
    if (got !== c.expected) disagreements.push(`${c.source}: expected ${c.expected} gold=${JSON.stringify(c.gold.slice(0, 80))} pred=${JSON.stringify(c.pred.slice(-80))}`);
  }
  const agree = cases.length - disagreements.length;
  console.log(`Math-Verify agreement: ${agree}/${cases.length} = ${((100 * agree) / cases.length).toFixed(1)}%`);
  for (const d of disagreements) console.log(`  disagree ${d}`);
  assert.ok(cases.length >= 161);
  assert.ok(agree / cases.length >= 0.95, `agreement ${agree}/${cases.length} is below 95%`);
});

test("hand-checked equivalences (known maths, not fixtures)", () => {
  const same: [string, string][] = [
    ["$\\frac{1}{2}$", "The answer is 0.5"],
    ["$x^2+2x+1$", "$\\boxed{(x+1)^2}$"],
    ["$x \\ge 1$", "$[1,\\infty)$"],
    ["$\\{3, 1, 2\\}$", "$\\boxed{1, 2, 3}$"],
    ["$50\\%$", "$\\boxed{0.5}$"],
  ];
  for (const [g, p] of same) assert.equal(checkAnswer(g, p).correct, true, `${g} vs ${p}`);
  const different: [string, string][] = [
    ["$\\frac{1}{2}$", "The answer is 0.6"],
    ["$(1,2)$", "$(2,1)$"],
    ["$[1,2]$", "$[1,2)$"],
    ["$x^2$", "$\\boxed{2x}$"],
  ];
  for (const [g, p] of different) assert.equal(checkAnswer(g, p).correct, false, `${g} vs ${p}`);
});
