import { createReadStream } from "node:fs";
import { access } from "node:fs/promises";
import { createInterface } from "node:readline";
import { DatasetError } from "./errors.js";
import type { ReadOptions } from "./parquet.js";

/** Rows of a JSON-lines file, streamed line by line; blank lines are skipped. */
export async function* readJsonlRows(path: string, options: ReadOptions = {}): AsyncGenerator<Record<string, unknown>> {
  const limit = options.limit ?? Infinity;
  if (limit <= 0) return;
  try {
    await access(path);
  } catch {
    throw new DatasetError(`${path}: cannot open jsonl file (no such file)`);
  }
  const lines = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  let lineNumber = 0;
  let emitted = 0;
  try {
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === "") continue;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (err) {
        throw new DatasetError(`${path}, line ${lineNumber}: invalid JSON (${(err as Error).message})`);
      }
      if (row === null || typeof row !== "object" || Array.isArray(row)) {
        throw new DatasetError(`${path}, line ${lineNumber}: expected a JSON object per line`);
      }
      if (options.columns) {
        const missing = options.columns.filter((c) => !(c in (row as object)));
        if (missing.length > 0) throw new DatasetError(`${path}, line ${lineNumber}: missing column${missing.length > 1 ? "s" : ""} ${missing.map((c) => `'${c}'`).join(", ")}`);
      }
      yield row as Record<string, unknown>;
      if (++emitted >= limit) return;
    }
  } finally {
    lines.close();
  }
}
