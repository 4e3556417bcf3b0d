import { readFileSync } from "node:fs";
import type { MathExample } from "./types.js";

/** Reads a split jsonl written by `openr1 data` or the pipeline (one MathExample per line), naming the line of any fault. */
export function readExamples(file: string): MathExample[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return text
    .split("\n")
    .map((l, i) => ({ l, i }))
    .filter(({ l }) => l.trim())
    .map(({ l, i }) => {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(l) as Record<string, unknown>;
      } catch (e) {
        throw new Error(`${file}:${i + 1}: not valid JSON (${(e as Error).message})`);
      }
      for (const k of ["problem", "answer"]) {
        if (typeof o[k] !== "string") throw new Error(`${file}:${i + 1}: "${k}" must be a string (is this a MathExample jsonl from \`openr1 data\`?)`);
      }
      return {
        id: String(o.id ?? i + 1),
        problem: o.problem as string,
        solution: String(o.solution ?? ""),
        ...(typeof o.reasoning === "string" ? { reasoning: o.reasoning } : {}),
        answer: o.answer as string,
        problemType: String(o.problemType ?? "unknown"),
        questionType: String(o.questionType ?? ""),
        source: String(o.source ?? ""),
      };
    });
}
