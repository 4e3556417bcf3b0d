import { readdir, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { assetPath } from "../assets.js";
import { hubDownload, type HubFileRequest } from "../hub/index.js";
import { DatasetError } from "./errors.js";
import { readJsonlRows } from "./jsonl.js";
import { readParquetRows, type ReadOptions } from "./parquet.js";

export const OPENR1_REPO = "open-r1/OpenR1-Math-220k";
/** The snapshot the Hub configs below were read from (its tree has data/, extended/ and all/). */
export const OPENR1_REVISION = "e4e141ec9dea9f8326f4d347be56105859b2bd68";

export type OpenR1Config = "default" | "extended" | "all";

function shards(folder: string, count: number): string[] {
  const total = String(count).padStart(5, "0");
  return Array.from({ length: count }, (_, i) => `${folder}/train-${String(i).padStart(5, "0")}-of-${total}.parquet`);
}

/**
 * The parquet files of each config: default 93,733 rows in data/ (10 shards), extended 131,396 rows in
 * extended/ (7 shards), and all = default + extended (225,129 rows), read from the same files instead of the
 * repository's all/ copy so that nothing is downloaded twice.
 */
export function openr1Files(config: OpenR1Config): string[] {
  switch (config) {
    case "default":
      return shards("data", 10);
    case "extended":
      return shards("extended", 7);
    case "all":
      return [...shards("data", 10), ...shards("extended", 7)];
  }
}

/** Where rows come from. */
export type DataSource =
  | { kind: "embedded" }
  | { kind: "local"; path: string }
  | ({ kind: "hub"; config?: OpenR1Config; repoId?: string } & Omit<HubFileRequest, "filename" | "repoId" | "repoType">);

/** The embedded sample shipped with the library (see README: real problems, solutions and answers). */
export const EMBEDDED_SAMPLE = assetPath("openr1-math", "sample.parquet");

/** "embedded", "hub" or a path, as the pipeline configuration spells the source. */
export function dataSourceFrom(source: string, hub: { config?: OpenR1Config; revision?: string } = {}): DataSource {
  if (source === "embedded") return { kind: "embedded" };
  if (source === "hub") return { kind: "hub", config: hub.config, revision: hub.revision };
  return { kind: "local", path: source };
}

export function describeSource(source: DataSource): string {
  if (source.kind === "embedded") return `the embedded sample (${EMBEDDED_SAMPLE})`;
  if (source.kind === "local") return source.path;
  return `${source.repoId ?? OPENR1_REPO} (${source.config ?? "default"}@${source.revision ?? OPENR1_REVISION})`;
}

const READERS: Record<string, typeof readParquetRows> = { ".parquet": readParquetRows, ".jsonl": readJsonlRows };

async function localFiles(path: string): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new DatasetError(`${path}: no such file or directory`);
  }
  if (info.isFile()) {
    if (!(extname(path) in READERS)) throw new DatasetError(`${path}: unsupported file type (expected .parquet or .jsonl)`);
    return [path];
  }
  const entries = await readdir(path, { recursive: true });
  const files = entries.filter((f) => extname(f) in READERS).sort().map((f) => join(path, f));
  if (files.length === 0) throw new DatasetError(`${path}: no .parquet or .jsonl files in this directory`);
  return files;
}

export interface SourceRow {
  row: Record<string, unknown>;
  file: string;
  /** 1-based row number within its file. */
  rowNumber: number;
}

/**
 * Raw rows of a source, file by file; Hub shards are downloaded (or taken from the cache) only when reading
 * reaches them, so a `limit` of a few rows downloads one shard.
 */
export async function* readSourceRows(source: DataSource, options: ReadOptions = {}): AsyncGenerator<SourceRow> {
  let left = options.limit ?? Infinity;
  const files: (() => Promise<string>)[] = [];
  if (source.kind === "embedded") files.push(async () => EMBEDDED_SAMPLE);
  else if (source.kind === "local") for (const f of await localFiles(source.path)) files.push(async () => f);
  else {
    const { config = "default", kind: _kind, ...hub } = source;
    for (const filename of openr1Files(config)) {
      files.push(() => hubDownload({ ...hub, repoId: source.repoId ?? OPENR1_REPO, repoType: "dataset", revision: source.revision ?? OPENR1_REVISION, filename }));
    }
  }
  for (const next of files) {
    if (left <= 0) return;
    const file = await next();
    let rowNumber = 0;
    for await (const row of READERS[extname(file)](file, { ...options, limit: left })) {
      yield { row, file, rowNumber: ++rowNumber };
      left--;
    }
  }
}
