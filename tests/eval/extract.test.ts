import { test } from "node:test";
import assert from "node:assert/strict";
import { extractAnswer, normalizeLatex } from "../../src/eval/index.js";

test("normalization: latex2sympy2_extended's normalize_latex (outputs of the real library, Math-Verify's config)", () => {
  const cases: [string, string][] = [
    ["\\left( \\frac{1}{2} \\right)", "( \\frac{1}{2} )"],
    ["\\dfrac{1}{3}", "\\frac{1}{3}"],
    ["\\frac12", "\\frac{1}{2}"],
    ["\\sqrt3", "\\sqrt{3}"],
    ["\\text{Evelyn}", "\\text{Evelyn}"],
    ["5 \\text{ meters}", "5"],
    ["125\\textnormal{ miles}", "125"],
    ["28 percent", "28\\%"],
    ["90^\\circ", "90^\\circ"],
    ["14{,}916", "14,916"],
    ["11,\\! 111,\\! 100", "11,111,100"],
    ["\\$16386.17", "16386.17"],
    ["\\boxed{1} and \\boxed{2}", "1,2"],
    ["x = 1/3 \\approx 0.33", "x = 1/3 \\approx 0.33"],
    ["17 \\geq m", "17 \\geq"],
    ["6\\,500 \\text{ yuan}", "6\\,500"],
    ["72\\,\\mathrm{m}/\\mathrm{min}", "72\\,"],
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
  // A formula that does not parse lends its number to the expression targets (Math-Verify: " $3" is a number after a
  // currency sign), while its normalized text stays the string fallback.
  const failed = extractAnswer("so $\\zzz 3$", { matchTypes: ["latex", "expr"] });
  assert.equal(failed.valueText, "3");
  assert.equal(failed.text, "\\zzz 3");
});
