import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, extname, join } from "node:path";
import { assetPath } from "../assets.js";
import { cachedFilePath, hubDownload, hubListFiles, resolveHubSettings, withCacheHint, type HubFileRequest, type HubSettingsOptions } from "../hub/index.js";
import { DatasetError } from "./errors.js";
import { generatedRow, generateProblems } from "./synthetic/index.js";
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

const CONFIG_FOLDERS: Record<OpenR1Config, string[]> = { default: ["data"], extended: ["extended"], all: ["data", "extended"] };
const EXPECTED_SHARDS: Record<string, number> = { data: 10, extended: 7 };

/**
 * The parquet files each config is expected to have: default 93,733 rows in data/ (10 shards), extended 131,396
 * rows in extended/ (7 shards), and all = default + extended (225,129 rows), read from the same files instead of
 * the repository's all/ copy so that nothing is downloaded twice. Online, the Hub's own listing is used instead
 * (`listOpenR1Files`); this layout is what offline mode looks for in the cache.
 */
export function openr1Files(config: OpenR1Config): string[] {
  return CONFIG_FOLDERS[config].flatMap((folder) => shards(folder, EXPECTED_SHARDS[folder]));
}

/** Where the Hub's listing of a folder is kept in the cache, so that offline runs read the same files. */
function listingPath(hub: HubSettingsOptions & { repoId?: string; revision?: string }, folder: string): string {
  const { cacheDir } = resolveHubSettings(hub);
  return cachedFilePath(cacheDir, "dataset", hub.repoId ?? OPENR1_REPO, hub.revision ?? OPENR1_REVISION, `${folder}/.hub-listing.json`);
}

/**
 * The parquet files of a config as the Hub lists them at the revision (tree API), remembered in the cache.
 * Offline: the remembered listing, else the expected layout of `openr1Files`.
 */
export async function listOpenR1Files(config: OpenR1Config, hub: HubSettingsOptions & { repoId?: string; revision?: string } = {}): Promise<string[]> {
  const offline = resolveHubSettings(hub).offline;
  const files: string[] = [];
  for (const folder of CONFIG_FOLDERS[config]) {
    const remembered = listingPath(hub, folder);
    if (offline) {
      const listed = await readFile(remembered, "utf8").then((t) => JSON.parse(t) as string[], () => shards(folder, EXPECTED_SHARDS[folder]));
      files.push(...listed);
      continue;
    }
    const listed = (await hubListFiles({ ...hub, repoId: hub.repoId ?? OPENR1_REPO, repoType: "dataset", revision: hub.revision ?? OPENR1_REVISION, folder })).filter(
      (f) => f.endsWith(".parquet"),
    );
    if (listed.length === 0) throw new DatasetError(`${hub.repoId ?? OPENR1_REPO}@${hub.revision ?? OPENR1_REVISION}: no parquet files in ${folder}/ for config '${config}'`);
    await mkdir(dirname(remembered), { recursive: true });
    await writeFile(remembered, JSON.stringify(listed));
    files.push(...listed);
  }
  return files;
}

/** Where rows come from. */
export type DataSource =
  | { kind: "embedded" }
  | { kind: "local"; path: string }
  /** Generated problems of the fine-tuning pool (src/data/synthetic): never in the pretraining text. */
  | { kind: "generated"; seed: number; count: number }
  | ({ kind: "hub"; config?: OpenR1Config; repoId?: string } & Omit<HubFileRequest, "filename" | "repoId" | "repoType">);

/** The embedded sample shipped with the library (see README: real problems, solutions and answers). */
export const EMBEDDED_SAMPLE = assetPath("openr1-math", "sample.parquet");

export const DEFAULT_GENERATED_SEED = 0;
export const DEFAULT_GENERATED_COUNT = 2000;

/** "embedded", "hub", "generated" or a path, as the pipeline configuration spells the source. */
export function dataSourceFrom(source: string, hub: { config?: OpenR1Config; revision?: string } = {}): DataSource {
  if (source === "embedded") return { kind: "embedded" };
  if (source === "generated") return { kind: "generated", seed: DEFAULT_GENERATED_SEED, count: DEFAULT_GENERATED_COUNT };
  if (source === "hub") return { kind: "hub", config: hub.config, revision: hub.revision };
  return { kind: "local", path: source };
}

export function describeSource(source: DataSource): string {
  if (source.kind === "embedded") return `the embedded sample (${EMBEDDED_SAMPLE})`;
  if (source.kind === "local") return source.path;
  if (source.kind === "generated") return `${source.count} generated problems (fine-tuning pool, seed ${source.seed})`;
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

function* generatedSourceRows(source: { seed: number; count: number }, limit: number): Generator<SourceRow> {
  const file = `generated:seed=${source.seed}`;
  let rowNumber = 0;
  for (const p of generateProblems({ seed: source.seed, pool: "finetune", count: Math.min(source.count, limit) })) {
    yield { row: { ...generatedRow(p) }, file, rowNumber: ++rowNumber };
  }
}

/**
 * Raw rows of a source, file by file; Hub shards are downloaded (or taken from the cache) only when reading
 * reaches them, so a `limit` of a few rows downloads one shard.
 */
export async function* readSourceRows(source: DataSource, options: ReadOptions = {}): AsyncGenerator<SourceRow> {
  let left = options.limit ?? Infinity;
  if (source.kind === "generated") {
    yield* generatedSourceRows(source, left);
    return;
  }
  const files: (() => Promise<string>)[] = [];
  if (source.kind === "embedded") files.push(async () => EMBEDDED_SAMPLE);
  else if (source.kind === "local") for (const f of await localFiles(source.path)) files.push(async () => f);
  else {
    const { config = "default", kind: _kind, ...hub } = source;
    for (const filename of await listOpenR1Files(config, hub)) {
      files.push(() => hubDownload({ ...hub, repoId: source.repoId ?? OPENR1_REPO, repoType: "dataset", revision: source.revision ?? OPENR1_REVISION, filename }));
    }
  }
  for (const next of files) {
    if (left <= 0) return;
    const file = await next();
    let rowNumber = 0;
    try {
      for await (const row of READERS[extname(file)](file, { ...options, limit: left })) {
        yield { row, file, rowNumber: ++rowNumber };
        left--;
      }
    } catch (e) {
      throw source.kind === "hub" ? withCacheHint(e, file, source) : e;
    }
  }
}
