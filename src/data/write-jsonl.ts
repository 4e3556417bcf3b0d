import { createWriteStream, renameSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { once } from "node:events";
import type { FilterReport } from "./preprocess.js";
import type { DatasetSplit } from "./types.js";

export interface WrittenSplit {
  train: string;
  validation: string;
  report: string;
}

/**
 * A line writer that gathers lines into chunks of about 1 MiB before writing (one write per line costs more than
 * the line) and waits whenever the disk falls behind; it fails with the stream's error. Lines go to `<path>.tmp`,
 * renamed to `path` by `close`: a crash or Ctrl-C mid-write never leaves a half file under the real name.
 */
export function lineWriter(path: string): { write(line: string | Buffer): Promise<void>; close(): Promise<void>; destroy(): void } {
  const tmp = `${path}.tmp`;
  const out = createWriteStream(tmp);
  let committed = false;
  const failed = once(out, "error").then(([e]) => Promise.reject(e as Error));
  failed.catch(() => {});
  let pending: (string | Buffer)[] = [];
  let size = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    const chunk =
      pending.length === 1 ? pending[0]! : pending.every((x) => typeof x === "string") ? pending.join("") : Buffer.concat(pending.map((x) => (typeof x === "string" ? Buffer.from(x) : x)));
    pending = [];
    size = 0;
    if (!out.write(chunk)) await Promise.race([once(out, "drain"), failed]);
  };
  return {
    async write(line) {
      pending.push(line);
      size += line.length;
      if (size >= 1 << 20) await flush();
    },
    async close() {
      await flush();
      out.end();
      await Promise.race([once(out, "finish"), failed]);
      renameSync(tmp, path);
      committed = true;
    },
    destroy() {
      // The file may still be opening: remove it once the stream has closed.
      if (committed) return void out.destroy();
      if (out.closed) rmSync(tmp, { force: true });
      else out.once("close", () => rmSync(tmp, { force: true }));
      out.destroy();
    },
  };
}

/** Writes one JSON line per item, streamed: the file is never one string (a full OpenR1 split is longer than V8's longest string). */
export async function writeJsonl(path: string, items: Iterable<unknown>): Promise<void> {
  const out = lineWriter(path);
  try {
    for (const item of items) await out.write(`${JSON.stringify(item)}\n`);
    await out.close();
  } finally {
    out.destroy();
  }
}

/** Writes train.jsonl and validation.jsonl (one MathExample per line) and report.json into `dir`. */
export async function writeSplit(dir: string, split: DatasetSplit, report: FilterReport): Promise<WrittenSplit> {
  await mkdir(dir, { recursive: true });
  const paths = { train: join(dir, "train.jsonl"), validation: join(dir, "validation.jsonl"), report: join(dir, "report.json") };
  await writeJsonl(paths.train, split.train);
  await writeJsonl(paths.validation, split.validation);
  const counts = { train: split.train.length, validation: split.validation.length };
  await writeFile(paths.report, `${JSON.stringify({ ...report, split: counts }, null, 2)}\n`);
  return paths;
}
