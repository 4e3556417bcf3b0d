import { DatasetError } from "./errors.js";

export interface ChatMessage {
  role: string;
  content: string;
}

/** One row of open-r1/OpenR1-Math-220k in its published 14-column schema. */
export interface OpenR1Row {
  problem: string;
  solution: string;
  answer: string;
  problem_type: string;
  question_type: string;
  source: string;
  uuid: string;
  is_reasoning_complete: boolean[];
  generations: string[];
  correctness_math_verify: boolean[];
  /** Llama-judge verdicts; null where the judge was not run. */
  correctness_llama: (boolean | null)[] | null;
  finish_reasons: (string | null)[];
  correctness_count: number;
  messages: ChatMessage[];
}

export type OpenR1Column = keyof OpenR1Row;

export const OPENR1_COLUMNS: readonly OpenR1Column[] = [
  "problem",
  "solution",
  "answer",
  "problem_type",
  "question_type",
  "source",
  "uuid",
  "is_reasoning_complete",
  "generations",
  "correctness_math_verify",
  "correctness_llama",
  "finish_reasons",
  "correctness_count",
  "messages",
];

/** The columns preprocessing reads; the others (chat messages, llama verdicts, …) are never loaded. */
export const REQUIRED_COLUMNS: readonly OpenR1Column[] = [
  "problem",
  "solution",
  "answer",
  "problem_type",
  "question_type",
  "source",
  "uuid",
  "is_reasoning_complete",
  "generations",
  "correctness_math_verify",
];

/** The part of a row preprocessing uses. */
export type OpenR1CoreRow = Pick<OpenR1Row, (typeof REQUIRED_COLUMNS)[number]>;

const STRING_COLUMNS = ["problem", "solution", "answer", "problem_type", "question_type", "source", "uuid"] as const;

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "list";
  return typeof value;
}

/**
 * Checks the required columns of a raw row (from parquet or jsonl) and returns it typed. Null strings read as
 * "" and null lists as [] (the published data has a few); anything else of the wrong type is an error naming
 * the file, the row and the column.
 */
export function parseCoreRow(raw: Record<string, unknown>, file: string, rowNumber: number): OpenR1CoreRow {
  const where = `${file}, row ${rowNumber}`;
  for (const column of REQUIRED_COLUMNS) {
    if (!(column in raw)) throw new DatasetError(`${where}: missing column '${column}' (the OpenR1-Math-220k schema has ${OPENR1_COLUMNS.join(", ")})`);
  }
  const out: Record<string, unknown> = {};
  for (const column of STRING_COLUMNS) {
    const value = raw[column];
    if (value === null || value === undefined) out[column] = "";
    else if (typeof value === "string") out[column] = value;
    else throw new DatasetError(`${where}: column '${column}' should be a string, got ${typeName(value)}`);
  }
  const list = <T>(column: OpenR1Column, element: "string" | "boolean"): T[] => {
    const value = raw[column];
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) throw new DatasetError(`${where}: column '${column}' should be a list<${element === "string" ? "string" : "bool"}>, got ${typeName(value)}`);
    value.forEach((item, i) => {
      if (item !== null && typeof item !== element) {
        throw new DatasetError(`${where}: column '${column}' item ${i} should be a ${element}, got ${typeName(item)}`);
      }
    });
    return value as T[];
  };
  out.generations = list<string>("generations", "string").map((g) => g ?? "");
  out.is_reasoning_complete = list<boolean>("is_reasoning_complete", "boolean").map((b) => b === true);
  out.correctness_math_verify = list<boolean>("correctness_math_verify", "boolean").map((b) => b === true);
  return out as unknown as OpenR1CoreRow;
}
