import { uuidFromText } from "./normalize.js";
import type { OpenR1Row } from "./schema.js";

/** A row of the reward-kit conversion of OpenR1-Math-220k (tests/fixtures/data/openr1_first100_numeric.reward-kit.jsonl). */
export interface RewardKitRow {
  messages: { role: string; content: string }[];
  ground_truth_answer_from_column: string;
}

/** OpenR1-Math-220k's problem_type labels, guessed from keywords (the conversion dropped the real column). */
const TYPE_KEYWORDS: [string, RegExp][] = [
  ["Geometry", /triangle|circle|angle|polygon|radius|perimeter|rectangle|parallelogram|trapezoid|tetrahedron|sphere|cube\b|diagonal|chord|tangent line/i],
  ["Number Theory", /divisible|prime|remainder|digit|divisor|gcd|modulo|\bmod\b|integer solutions|natural numbers?/i],
  ["Combinatorics", /how many (ways|different)|arrange|probability|permutation|choose|colou?r/i],
  ["Calculus", /derivative|integral|\\int|\\lim|limit of/i],
  ["Inequalities", /inequalit/i],
  ["Algebra", /equation|function|polynomial|\$x|real numbers?|sequence/i],
];

export function guessProblemType(problem: string): string {
  for (const [type, pattern] of TYPE_KEYWORDS) if (pattern.test(problem)) return type;
  return "Other";
}

/** "MCQ" when the problem lists (A)…(B) options, else "math-word-problem" (every sample answer is a number). */
export function guessQuestionType(problem: string): string {
  return /\(A\)/.test(problem) && /\(B\)/.test(problem) ? "MCQ" : "math-word-problem";
}

function unbox(boxed: string): string {
  const m = boxed.trim().match(/^\\boxed\{([\s\S]*)\}$/);
  return m ? m[1] : boxed.trim();
}

/** A deliberately wrong answer: the number plus one. */
function wrongAnswer(answer: string): string {
  const n = Number(answer);
  return Number.isFinite(n) ? String(Math.round((n + 1) * 1e6) / 1e6) : `${answer}+1`;
}

/**
 * One row of the 14-column schema from a reward-kit row. Real: problem, solution (the assistant turn less the
 * "The final answer is \boxed{…}." the conversion appended), answer. Synthesised: everything else — generations
 * are the real solution and a wrong attempt (its first half and a wrong boxed answer; every third row it is cut
 * off instead, finish_reason "length"), the correct one first on even rows and second on odd rows.
 */
export function sampleRowFromRewardKit(row: RewardKitRow, index: number): OpenR1Row {
  const problem = row.messages.find((m) => m.role === "user")?.content ?? "";
  const assistant = row.messages.find((m) => m.role === "assistant")?.content ?? "";
  const suffix = `\n\nThe final answer is ${row.ground_truth_answer_from_column}.`;
  const solution = assistant.endsWith(suffix) ? assistant.slice(0, -suffix.length) : assistant;
  const answer = unbox(row.ground_truth_answer_from_column);
  const half = solution.slice(0, Math.floor(solution.length / 2));
  const truncated = index % 3 === 2;
  const wrong = truncated ? half : `${half}\n\nThe final answer is $\\boxed{${wrongAnswer(answer)}}$.`;
  const correctFirst = index % 2 === 0;
  const gens = correctFirst ? [solution, wrong] : [wrong, solution];
  const correct = correctFirst ? [true, false] : [false, true];
  const complete = correctFirst ? [true, !truncated] : [!truncated, true];
  const finish = complete.map((c) => (c ? "stop" : "length"));
  return {
    problem,
    solution,
    answer,
    problem_type: guessProblemType(problem),
    question_type: guessQuestionType(problem),
    source: "unknown",
    // The real uuid column was dropped by the conversion.
    uuid: uuidFromText(problem),
    is_reasoning_complete: complete,
    generations: gens,
    correctness_math_verify: correct,
    correctness_llama: null,
    finish_reasons: finish,
    correctness_count: 1,
    messages: [
      { role: "user", content: problem },
      { role: "assistant", content: solution },
    ],
  };
}
