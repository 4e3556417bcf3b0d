import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { RunMeta, Table, TableRef } from "./types.js";

export type HistoryRow = Record<string, unknown> & { _step: number };

/** A run directory read back: what the report notebook, the CLI and `sync` work from. */
export interface RunData {
  dir: string;
  meta: RunMeta;
  config: Record<string, unknown>;
  /** One row per step (lines logged at the same step merged), in step order. */
  history: HistoryRow[];
  /** summary.json over each key's last logged value. */
  summary: Record<string, unknown>;
  /** Problems met while reading (e.g. a last history line cut short by a crash), each naming the file. */
  warnings: string[];
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** Merges consecutive history lines with the same `_step` into one row, as W&B commits them. */
export function mergeHistoryLines(lines: Record<string, unknown>[]): HistoryRow[] {
  const rows: HistoryRow[] = [];
  for (const line of lines) {
    const last = rows[rows.length - 1];
    if (last !== undefined && last._step === line._step) Object.assign(last, line);
    else rows.push({ ...line } as HistoryRow);
  }
  return rows;
}

/** Reads history.jsonl; a line that does not parse (a crash mid-write) is skipped and reported. */
export function readHistory(path: string, warnings: string[]): HistoryRow[] {
  if (!existsSync(path)) return [];
  const lines: Record<string, unknown>[] = [];
  readFileSync(path, "utf8")
    .split("\n")
    .forEach((text, i) => {
      if (text.trim() === "") return;
      try {
        const row = JSON.parse(text) as Record<string, unknown>;
        if (typeof row._step !== "number") throw new Error("no _step");
        lines.push(row);
      } catch (e) {
        warnings.push(`${path}:${i + 1}: skipped a line that is not a history row (${(e as Error).message})`);
      }
    });
  return mergeHistoryLines(lines);
}

export function readRun(dir: string): RunData {
  const abs = resolve(dir);
  if (!existsSync(join(abs, "run.json"))) {
    throw new Error(`${abs}: not a run directory (no run.json)`);
  }
  const warnings: string[] = [];
  const meta = readJson(join(abs, "run.json")) as RunMeta;
  const config = existsSync(join(abs, "config.json")) ? (readJson(join(abs, "config.json")) as Record<string, unknown>) : {};
  const summaryFile = existsSync(join(abs, "summary.json")) ? (readJson(join(abs, "summary.json")) as Record<string, unknown>) : {};
  const history = readHistory(join(abs, "history.jsonl"), warnings);
  // summary.json is complete once the run has finished; for a run that died, the history's last values fill it in.
  const summary = { ...Object.assign({}, ...history), ...summaryFile } as Record<string, unknown>;
  return { dir: abs, meta, config, history, summary, warnings };
}

export function isTableRef(value: unknown): value is TableRef {
  return typeof value === "object" && value !== null && (value as TableRef)._type === "table-file";
}

/** Reads a table a history row or the summary refers to. */
export function readTable(runDir: string, ref: TableRef): Table {
  const table = readJson(join(runDir, ref.path)) as Table;
  if (!Array.isArray(table.columns) || !Array.isArray(table.data)) {
    throw new Error(`${join(runDir, ref.path)}: not a table (needs "columns" and "data")`);
  }
  return table;
}

/** The most recently started run directory under `runsDir` (folders without run.json are ignored). */
export function latestRunDir(runsDir: string): string {
  const root = resolve(runsDir);
  const runs = existsSync(root)
    ? readdirSync(root)
        .map((name) => join(root, name))
        .filter((d) => statSync(d).isDirectory() && existsSync(join(d, "run.json")))
    : [];
  if (runs.length === 0) throw new Error(`${root}: no run directories (folders with run.json) found`);
  const started = (d: string) => Date.parse((readJson(join(d, "run.json")) as RunMeta).startedAt) || 0;
  return runs.reduce((a, b) => (started(b) >= started(a) ? b : a));
}
