import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FilterReport } from "./preprocess.js";
import type { DatasetSplit } from "./types.js";

export interface WrittenSplit {
  train: string;
  validation: string;
  report: string;
}

/** Writes train.jsonl and validation.jsonl (one MathExample per line) and report.json into `dir`. */
export async function writeSplit(dir: string, split: DatasetSplit, report: FilterReport): Promise<WrittenSplit> {
  await mkdir(dir, { recursive: true });
  const paths = { train: join(dir, "train.jsonl"), validation: join(dir, "validation.jsonl"), report: join(dir, "report.json") };
  const lines = (xs: unknown[]) => xs.map((x) => `${JSON.stringify(x)}\n`).join("");
  await writeFile(paths.train, lines(split.train));
  await writeFile(paths.validation, lines(split.validation));
  const counts = { train: split.train.length, validation: split.validation.length };
  await writeFile(paths.report, `${JSON.stringify({ ...report, split: counts }, null, 2)}\n`);
  return paths;
}
