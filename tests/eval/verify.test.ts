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
  assert.ok(cases.length >= 264);
  assert.ok(agree / cases.length >= 0.95, `agreement ${agree}/${cases.length} is below 95%`);
});

// Verdicts of the real Math-Verify 0.8.0 (../shared/oracle/math-verify/oracle compare) on hand-written pairs.
test("hand-written pairs, with the real Math-Verify's verdicts", () => {
  const cases: [string, string, boolean][] = [
    ["$\\frac{1}{2}$", "The answer is 0.5", true],
    ["$\\frac{1}{2}$", "The answer is 0.6", false],
    ["$x^2+2x+1$", "$\\boxed{(x+1)^2}$", true],
    ["$x^2$", "$\\boxed{2x}$", false],
    ["$x \\ge 1$", "$[1,\\infty)$", true],
    ["$x<2$", "$\\boxed{(-\\infty, 2)}$", true],
    ["$\\{3, 1, 2\\}$", "$\\boxed{1, 2, 3}$", true],
    ["$(1,2)$", "$(2,1)$", false],
    ["$[1,2]$", "$[1,2)$", false],
    ["$50\\%$", "$\\boxed{0.5}$", true],
    ["$\\dfrac{1}{4}$", "$\\boxed{25\\%}$", true],
    ["$\\frac{\\sqrt{3}}{2}$", "$0.866025$", true],
    ["$2\\sqrt{2}$", "$\\boxed{\\sqrt{8}}$", true],
    ["$\\sqrt{2}/2$", "$\\boxed{\\frac{1}{\\sqrt{2}}}$", true],
    ["$\\pi$", "$3.14$", false],
    ["$\\frac{\\pi}{3}$", "$\\boxed{1.047198}$", true],
    ["$\\text{(A)}$", "$\\boxed{A}$", true],
    ["$3$", "$\\boxed{x=3}$", true],
    ["$y = 2x + 1$", "$\\boxed{y = 1 + 2x}$", true],
    ["$a^2 - b^2$", "$\\boxed{(a-b)(a+b)}$", true],
    ["$a^2 + b^2$", "$\\boxed{(a-b)(a+b)}$", false],
    ["$\\sin^2 x + \\cos^2 x$", "$\\boxed{1}$", true],
    ["$\\log_2 8$", "$\\boxed{3}$", true],
    ["$\\binom{5}{2}$", "$\\boxed{10}$", true],
    ["$5!$", "$\\boxed{120}$", true],
    ["$2^{10}$", "$\\boxed{1024}$", true],
    ["$4$", "$\\boxed{4 \\text{ cm}^2}$", true],
    // sympy rounds the float to 100.0 but an Integer never equals a Float (sympy ≥ 1.13), and 100 - 99.9999999 ≠ 0.
    ["$100$", "$\\boxed{99.9999999}$", false],
    ["$100$", "$\\boxed{99.99}$", false],
    ["$2$", "I think it's 2 or 3. The answer is $\\boxed{3}$", false],
    ["$12$", "The final answer is $12$. I hope it is correct.", true],
  ];
  for (const [g, p, expected] of cases) assert.equal(checkAnswer(g, p, { boxedPriority: 0 }).correct, expected, `${g} vs ${p}`);
});
