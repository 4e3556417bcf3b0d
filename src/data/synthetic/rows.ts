import { uuidFromText } from "../normalize.js";
import type { OpenR1Row } from "../schema.js";
import { solutionText, type GeneratedProblem } from "./problems.js";

/** One row of OpenR1-Math-220k's 14-column schema for a generated problem: one verified, complete R1-style trace. */
export function generatedRow(p: GeneratedProblem): OpenR1Row {
  const solution = solutionText(p);
  // R1's layout: the reasoning inside <think>, then the written solution.
  const trace = `<think>\n${p.steps.join("\n")}\n</think>\n\n${solution}`;
  return {
    problem: p.problem,
    solution,
    answer: p.answer,
    problem_type: p.problemType,
    question_type: "math-word-problem",
    source: "openr1-ts-generated",
    uuid: uuidFromText(p.problem),
    is_reasoning_complete: [true],
    generations: [trace],
    correctness_math_verify: [true],
    correctness_llama: null,
    finish_reasons: ["stop"],
    correctness_count: 1,
    messages: [
      { role: "user", content: p.problem },
      { role: "assistant", content: trace },
    ],
  };
}
