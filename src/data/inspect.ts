import { createRequire } from "node:module";
import type { DataFrame } from "danfojs-node";
import type { MathExample } from "./types.js";

/** One example as a flat record of its metadata and text lengths (characters). */
export interface ExampleRecord {
  id: string;
  problemType: string;
  questionType: string;
  source: string;
  answer: string;
  problemChars: number;
  solutionChars: number;
  /** 0 when the example has no verified reasoning trace. */
  reasoningChars: number;
}

export function exampleRecords(examples: readonly MathExample[]): ExampleRecord[] {
  return examples.map((e) => ({
    id: e.id,
    problemType: e.problemType,
    questionType: e.questionType,
    source: e.source,
    answer: e.answer,
    problemChars: e.problem.length,
    solutionChars: e.solution.length,
    reasoningChars: e.reasoning?.length ?? 0,
  }));
}

/** A danfojs DataFrame with one row per example (danfojs is loaded on first use: it takes a second to import). */
export function examplesDataFrame(examples: readonly MathExample[]): DataFrame {
  const dfd = createRequire(import.meta.url)("danfojs-node") as typeof import("danfojs-node");
  const records = exampleRecords(examples);
  const columns = ["id", "problemType", "questionType", "source", "answer", "problemChars", "solutionChars", "reasoningChars"] as const;
  return new dfd.DataFrame(
    records.map((r) => columns.map((c) => r[c])),
    { columns: [...columns] },
  );
}

export type CategoryKey = "problemType" | "questionType" | "source";

export interface CategoryCount {
  value: string;
  count: number;
}

/** How many examples have each value of a category, most frequent first (ties by name). */
export function countBy(examples: readonly MathExample[], key: CategoryKey): CategoryCount[] {
  const counts = new Map<string, number>();
  for (const e of examples) counts.set(e[key], (counts.get(e[key]) ?? 0) + 1);
  return [...counts].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count || a.value.localeCompare(b.value));
}

export type TextField = "problem" | "solution" | "reasoning";

export interface TextLengthStats {
  field: TextField;
  /** Examples that have this text (reasoning is optional). */
  count: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  max: number;
}

/** The q-quantile with linear interpolation between closest ranks (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function textLengths(examples: readonly MathExample[], field: TextField): number[] {
  const out: number[] = [];
  for (const e of examples) {
    const text = e[field];
    if (text !== undefined) out.push(text.length);
  }
  return out;
}

/** Character-length statistics of the problem, solution and reasoning texts. */
export function lengthStats(examples: readonly MathExample[]): TextLengthStats[] {
  return (["problem", "solution", "reasoning"] as const).map((field) => {
    const lengths = textLengths(examples, field).sort((a, b) => a - b);
    const n = lengths.length;
    return {
      field,
      count: n,
      mean: n === 0 ? NaN : lengths.reduce((a, b) => a + b, 0) / n,
      min: n === 0 ? NaN : lengths[0],
      p50: quantile(lengths, 0.5),
      p90: quantile(lengths, 0.9),
      max: n === 0 ? NaN : lengths[n - 1],
    };
  });
}

export interface DatasetSummary {
  examples: number;
  withReasoning: number;
  byProblemType: CategoryCount[];
  byQuestionType: CategoryCount[];
  bySource: CategoryCount[];
  lengths: TextLengthStats[];
}

export function summarizeExamples(examples: readonly MathExample[]): DatasetSummary {
  return {
    examples: examples.length,
    withReasoning: examples.filter((e) => e.reasoning !== undefined).length,
    byProblemType: countBy(examples, "problemType"),
    byQuestionType: countBy(examples, "questionType"),
    bySource: countBy(examples, "source"),
    lengths: lengthStats(examples),
  };
}

/**
 * A DataFrame as a table for `tableHtml` (the index as the first column, numbers rounded to `digits` decimals):
 * danfojs's `print()` wraps wide frames mid-row and prints floats to 12 digits.
 */
export function dataFrameTable(df: DataFrame, digits = 2): { columns: string[]; data: unknown[][] } {
  const round = (v: unknown) => (typeof v === "number" && !Number.isInteger(v) ? Number(v.toFixed(digits)) : v);
  const values = df.values as unknown[][];
  return { columns: ["", ...df.columns], data: df.index.map((label, i) => [label, ...values[i]!.map(round)]) };
}
