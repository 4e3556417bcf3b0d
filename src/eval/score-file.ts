/** Scoring a jsonl of {gold, pred} records without a model (others' outputs, the Math-Verify fixtures). */
import { readFileSync } from "node:fs";
import { AnswerChecker } from "./checker.js";
import type { MatchType } from "./extract.js";
import { recordOptions, type ScoreRecordOptions } from "./verify.js";

export interface ScoreRecord extends ScoreRecordOptions {
  gold: string;
  pred: string;
}

export interface ScoredLine {
  line: number;
  correct: boolean;
  gold_extracted: string | null;
  pred_extracted: string | null;
  timed_out: boolean;
  /** Present when the record carried an `expected` field (fixture files). */
  expected?: boolean;
}

export interface ScoreFileSummary {
  summary: true;
  n: number;
  correct: number;
  accuracy: number;
  timed_out: number;
  /** When records carry `expected`: how many verdicts agree with it. */
  agreement?: { agree: number; n: number; rate: number };
}

const MATCH_TYPES = new Set<MatchType>(["latex", "expr"]);

/** Parses and validates one record; the error names the file, the line and the problem. */
export function parseScoreRecord(text: string, file: string, line: number): ScoreRecord & { expected?: boolean } {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}:${line}: not valid JSON (${(e as Error).message})`);
  }
  const bad = (what: string) => new Error(`${file}:${line}: ${what}`);
  if (typeof r !== "object" || r === null || Array.isArray(r)) throw bad("expected a JSON object with gold and pred");
  const o = r as Record<string, unknown>;
  if (typeof o.gold !== "string") throw bad('"gold" must be a string');
  if (typeof o.pred !== "string") throw bad('"pred" must be a string');
  if (o.match_types !== undefined) {
    if (!Array.isArray(o.match_types) || o.match_types.length === 0 || !o.match_types.every((m) => MATCH_TYPES.has(m as MatchType)))
      throw bad('"match_types" must be a non-empty list of "latex" and/or "expr"');
  }
  if (o.precision !== undefined && !(Number.isInteger(o.precision) && (o.precision as number) >= 0)) throw bad('"precision" must be a non-negative integer');
  if (o.strict !== undefined && typeof o.strict !== "boolean") throw bad('"strict" must be true or false');
  if (o.allow_set_relation_comp !== undefined && typeof o.allow_set_relation_comp !== "boolean") throw bad('"allow_set_relation_comp" must be true or false');
  if (o.expected !== undefined && typeof o.expected !== "boolean") throw bad('"expected" must be true or false');
  return o as unknown as ScoreRecord & { expected?: boolean };
}

/** Scores every record of `file` (each check under `timeoutMs`), calling `emit` per line, and returns the summary. */
export async function scoreFile(
  file: string,
  emit: (line: ScoredLine) => void,
  options: { timeoutMs?: number; defaults?: ScoreRecordOptions } = {},
): Promise<ScoreFileSummary> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const lines = text.split("\n");
  const records = lines
    .map((l, i) => ({ l, i }))
    .filter(({ l }) => l.trim().length > 0)
    .map(({ l, i }) => ({ n: i + 1, r: parseScoreRecord(l, file, i + 1) }));
  const checker = new AnswerChecker({ timeoutMs: options.timeoutMs ?? 5000 });
  let correct = 0;
  let timedOut = 0;
  let withExpected = 0;
  let agree = 0;
  try {
    for (const { n, r } of records) {
      await checker.start();
      const res = checker.checkStarted(r.gold, r.pred, recordOptions({ ...options.defaults, ...definedOnly(r) }));
      if (res.correct) correct++;
      if (res.timedOut) timedOut++;
      const out: ScoredLine = { line: n, correct: res.correct, gold_extracted: res.goldExtracted, pred_extracted: res.predExtracted, timed_out: res.timedOut };
      if (r.expected !== undefined) {
        out.expected = r.expected;
        withExpected++;
        if (r.expected === res.correct) agree++;
      }
      emit(out);
    }
  } finally {
    checker.close();
  }
  const summary: ScoreFileSummary = { summary: true, n: records.length, correct, accuracy: records.length ? correct / records.length : 0, timed_out: timedOut };
  if (withExpected > 0) summary.agreement = { agree, n: withExpected, rate: agree / withExpected };
  return summary;
}

function definedOnly(r: ScoreRecordOptions): ScoreRecordOptions {
  return Object.fromEntries(
    Object.entries({ match_types: r.match_types, precision: r.precision, strict: r.strict, allow_set_relation_comp: r.allow_set_relation_comp }).filter(
      ([, v]) => v !== undefined,
    ),
  );
}
