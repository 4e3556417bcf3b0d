import type { MathExample } from "./types.js";
import { normalizeProblem, sha256Hex } from "./normalize.js";
import type { OpenR1CoreRow } from "./schema.js";

export interface FilterOptions {
  /** Keep rows with at least one generation Math-Verify judged correct. */
  verifiedCorrect?: boolean;
  /**
   * Keep rows with at least one complete reasoning trace (is_reasoning_complete); with `verifiedCorrect`
   * also on, one trace must be both, i.e. the row must have the `reasoning` the training stage can use.
   */
  completeReasoning?: boolean;
  /** Drop rows whose answer is empty or blank. */
  nonEmptyAnswer?: boolean;
  /** Drop rows whose problem is longer than this many characters (null: no limit). */
  maxProblemChars?: number | null;
  /** Drop rows whose reference solution is longer than this many characters (null: no limit). */
  maxSolutionChars?: number | null;
  /** Drop every later row whose normalised problem text was already seen. */
  dedupe?: boolean;
}

export const DEFAULT_FILTERS: Required<FilterOptions> = {
  verifiedCorrect: true,
  completeReasoning: true,
  nonEmptyAnswer: true,
  maxProblemChars: null,
  maxSolutionChars: null,
  dedupe: true,
};

/** Rows removed per filter, each counted among the rows the earlier filters kept (in this order). */
export interface FilterReport {
  rowsRead: number;
  removed: {
    emptyProblem: number;
    nonEmptyAnswer: number;
    verifiedCorrect: number;
    completeReasoning: number;
    maxProblemChars: number;
    maxSolutionChars: number;
    duplicate: number;
  };
  kept: number;
}

/** Index of the first generation that is both complete and verified correct, or -1. */
export function firstVerifiedReasoning(row: OpenR1CoreRow): number {
  for (let i = 0; i < row.generations.length; i++) {
    if (row.correctness_math_verify[i] === true && row.is_reasoning_complete[i] === true) return i;
  }
  return -1;
}

export function toMathExample(row: OpenR1CoreRow): MathExample {
  const trace = firstVerifiedReasoning(row);
  const example: MathExample = {
    id: row.uuid !== "" ? row.uuid : sha256Hex(normalizeProblem(row.problem)).slice(0, 32),
    problem: row.problem,
    solution: row.solution,
    answer: row.answer,
    problemType: row.problem_type,
    questionType: row.question_type,
    source: row.source,
  };
  if (trace >= 0) example.reasoning = row.generations[trace];
  return example;
}

/** Streaming preprocessing: feed rows one by one, read the report at the end. */
export class Preprocessor {
  private readonly filters: Required<FilterOptions>;
  private readonly seen = new Set<string>();
  private readonly counts: FilterReport = {
    rowsRead: 0,
    removed: { emptyProblem: 0, nonEmptyAnswer: 0, verifiedCorrect: 0, completeReasoning: 0, maxProblemChars: 0, maxSolutionChars: 0, duplicate: 0 },
    kept: 0,
  };

  constructor(filters: FilterOptions = {}) {
    const defined = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined));
    this.filters = { ...DEFAULT_FILTERS, ...defined };
  }

  /** The example for a row, or undefined when a filter removes it (counted in the report). */
  add(row: OpenR1CoreRow): MathExample | undefined {
    const f = this.filters;
    const removed = this.counts.removed;
    this.counts.rowsRead++;
    if (row.problem.trim() === "") return void removed.emptyProblem++;
    if (f.nonEmptyAnswer && row.answer.trim() === "") return void removed.nonEmptyAnswer++;
    if (f.verifiedCorrect && !row.correctness_math_verify.some((c) => c)) return void removed.verifiedCorrect++;
    if (f.completeReasoning) {
      const ok = f.verifiedCorrect ? firstVerifiedReasoning(row) >= 0 : row.is_reasoning_complete.some((c) => c);
      if (!ok) return void removed.completeReasoning++;
    }
    if (f.maxProblemChars !== null && row.problem.length > f.maxProblemChars) return void removed.maxProblemChars++;
    if (f.maxSolutionChars !== null && row.solution.length > f.maxSolutionChars) return void removed.maxSolutionChars++;
    if (f.dedupe) {
      const key = normalizeProblem(row.problem);
      if (this.seen.has(key)) return void removed.duplicate++;
      this.seen.add(key);
    }
    this.counts.kept++;
    return toMathExample(row);
  }

  report(): FilterReport {
    return { ...this.counts, removed: { ...this.counts.removed } };
  }
}

/** A one-line-per-filter text of the report, for logs and the CLI. */
export function formatFilterReport(report: FilterReport): string {
  const lines = [`rows read: ${report.rowsRead}`];
  for (const [name, n] of Object.entries(report.removed)) lines.push(`  removed by ${name}: ${n}`);
  lines.push(`kept: ${report.kept}`);
  return lines.join("\n");
}
