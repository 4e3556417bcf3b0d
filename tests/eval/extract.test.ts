import { test } from "node:test";
import assert from "node:assert/strict";
import { extractAnswer, normalizeLatex } from "../../src/eval/index.js";

test("normalization: the LaTeX clean-ups", () => {
  const cases: [string, string][] = [
    ["\\left( \\frac{1}{2} \\right)", "( \\frac{1}{2} )"],
    ["\\dfrac{1}{3}", "\\frac{1}{3}"],
    ["\\tfrac{1}{3}", "\\frac{1}{3}"],
    ["\\frac12", "\\frac{1}{2}"],
    ["\\sqrt3", "\\sqrt{3}"],
    ["\\text{Evelyn}", "Evelyn"],
    ["5 \\text{ meters}", "5"],
    ["125\\textnormal{ miles}", "125"],
    ["28 percent", "28\\%"],
    ["90^\\circ", "90"],
    ["14{,}916", "14916"],
    ["11,\\! 111,\\! 100", "11111100"],
    ["\\$16386.17", "16386.17"],
    ["\\boxed{1} and \\boxed{2}", "1, 2"],
    ["x = 1/3 \\approx 0.33", "x = 1/3"],
  ];
  for (const [input, expected] of cases) assert.equal(normalizeLatex(input), expected, input);
});

test("extraction: Math-Verify's target priorities", () => {
  // Rightmost match first within a priority.
  assert.equal(extractAnswer("First $1$, then $2$.").valueText, "2");
  // "final answer is … I hope" (0) beats a boxed answer at the default boxed priority (50).
  assert.equal(extractAnswer("$\\boxed{3}$ Final Answer: The final answer is $4$. I hope it is correct.").valueText, "4");
  // With boxed priority 0 (open-r1, Math-Verify's harness) the box and the final-answer phrase tie: rightmost wins.
  assert.equal(extractAnswer("The final answer is $4$. I hope it is correct. So $\\boxed{3}$", { boxedPriority: 0 }).valueText, "3");
  // "answer:" anchors beat plain LaTeX further right.
  assert.equal(extractAnswer("Answer: $7$. Check: $8$").valueText, "7");
  // Without anchors, plain environments are not candidates.
  assert.equal(extractAnswer("We get $8$.", { withoutAnchor: false }).value, null);
  // Several answers chained by "and" become one set; plain numbers with thousands separators.
  assert.equal(extractAnswer("The roots are $1$ and $-2$").value?.kind, "set");
  assert.equal(extractAnswer("It costs 1,234.50 in total", { matchTypes: ["expr"] }).valueText, "1234.50");
  // A number inside a formula that failed to parse is not taken instead.
  assert.equal(extractAnswer("so $\\zzz 3$", { matchTypes: ["latex", "expr"] }).value, null);
});
