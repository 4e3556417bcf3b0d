import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../files/atomic.js";
import type { RunMeta, Table, TableRef } from "./types.js";

/** File name for a table logged under `key` at `step`: W&B keys hold slashes, file names cannot. */
export function tableFileName(key: string, step: number, sha256: string): string {
  return `${key.replace(/[^A-Za-z0-9_.-]+/g, "_")}_${step}_${sha256.slice(0, 20)}.table.json`;
}

/**
 * Drops the history lines logged after `step` (and a line cut short by a crash) from a run directory, atomically:
 * a resumed run logs those steps again from its checkpoint. Returns how many lines were dropped.
 */
export function keepHistoryUpTo(dir: string, step: number): number {
  const path = join(dir, "history.jsonl");
  if (!existsSync(path)) return 0;
  const lines = readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "");
  const kept = lines.filter((line) => {
    try {
      const row = JSON.parse(line) as { _step?: unknown };
      return typeof row._step === "number" && row._step <= step;
    } catch {
      return false;
    }
  });
  if (kept.length < lines.length) writeFileAtomic(path, kept.map((l) => `${l}\n`).join(""));
  return lines.length - kept.length;
}

/**
 * The local copy of a run: run.json, config.json, history.jsonl (one line per `log` call, each with
 * `_step`), summary.json and tables/*.table.json. History lines are written with write(2) as they come,
 * so everything logged survives a crash of the process; the JSON files are replaced atomically.
 */
export class LocalRunWriter {
  private historyFd: number;

  /** `continued`: the directory holds an earlier part of this run, whose files are kept and appended to. */
  constructor(readonly dir: string, private meta: RunMeta, continued = false) {
    mkdirSync(join(dir, "tables"), { recursive: true });
    this.historyFd = openSync(join(dir, "history.jsonl"), "a");
    this.writeMeta({});
    if (continued) return;
    this.writeConfig({});
    this.writeSummary({});
  }

  writeMeta(update: Partial<RunMeta>): void {
    this.meta = { ...this.meta, ...update };
    writeJsonAtomic(join(this.dir, "run.json"), this.meta);
  }

  writeConfig(config: Record<string, unknown>): void {
    writeJsonAtomic(join(this.dir, "config.json"), config);
  }

  writeSummary(summary: Record<string, unknown>): void {
    writeJsonAtomic(join(this.dir, "summary.json"), summary);
  }

  appendHistory(row: Record<string, unknown>): void {
    writeSync(this.historyFd, JSON.stringify(row) + "\n");
  }

  /** Writes the table file; returns the reference to log in its place and the file's text. */
  writeTable(key: string, step: number, table: Table): { ref: TableRef; body: string } {
    const body = JSON.stringify({ columns: table.columns, data: table.data });
    const sha256 = createHash("sha256").update(body).digest("hex");
    const path = `tables/${tableFileName(key, step, sha256)}`;
    writeFileSync(join(this.dir, path), body);
    const ref: TableRef = { _type: "table-file", path, sha256, size: Buffer.byteLength(body), ncols: table.columns.length, nrows: table.data.length };
    return { ref, body };
  }

  close(): void {
    fsyncSync(this.historyFd);
    closeSync(this.historyFd);
  }
}
