import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { writeJsonAtomic } from "../files/atomic.js";
import { isTableRef, readRun } from "./read-run.js";
import { RemoteUploader } from "./remote-uploader.js";
import { DEFAULT_BASE_URL, runUrl, toRemoteRow } from "./tracker.js";
import type { RunMeta } from "./types.js";
import { WandbClient } from "./wandb-client.js";

export interface SyncOptions {
  /** Default: WANDB_API_KEY. */
  apiKey?: string;
  /** Default: WANDB_BASE_URL, else the address the run was recorded with, else https://api.wandb.ai. */
  baseUrl?: string;
  /** Default: the run's, else WANDB_ENTITY, else the key's default entity. */
  entity?: string;
  /** Default: the run's. */
  project?: string;
  requestTimeoutMs?: number;
  retries?: number;
  /** The most the whole upload may take (default 120 s). */
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
}

export interface SyncResult {
  url: string;
  rows: number;
  tables: number;
}

/**
 * Uploads a run directory to W&B under its own run id: config, every history row at its offset (so
 * syncing again, or after a partial online upload, overwrites rather than duplicates), tables, summary
 * and `complete`. Records the outcome in run.json.
 */
export async function syncRun(runDir: string, options: SyncOptions = {}): Promise<SyncResult> {
  const env = options.env ?? process.env;
  const run = readRun(runDir);
  const apiKey = options.apiKey ?? env.WANDB_API_KEY;
  if (!apiKey) throw new Error(`${run.dir}: cannot sync without an API key (set WANDB_API_KEY)`);
  // The address given now wins over the one recorded: the server may have moved, or the run gone to another.
  const baseUrl = (options.baseUrl ?? env.WANDB_BASE_URL ?? run.meta.remote.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
  const project = options.project ?? run.meta.project;
  const abort = new AbortController();
  const client = new WandbClient({
    apiKey,
    baseUrl,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    retries: options.retries ?? 3,
    signal: abort.signal,
  });
  let failure: string | undefined;
  const uploader = new RemoteUploader(
    client,
    abort,
    {
      project,
      entity: options.entity ?? run.meta.entity ?? env.WANDB_ENTITY,
      id: run.meta.id,
      displayName: run.meta.name,
      flushIntervalMs: 1_000,
      onError: (m) => (failure = m),
    },
    run.config,
  );
  const tablePaths = new Set<string>();
  for (const value of [...run.history.flatMap((r) => Object.values(r)), ...Object.values(run.summary)]) {
    if (!isTableRef(value) || tablePaths.has(value.path)) continue;
    tablePaths.add(value.path);
    uploader.addFile(`media/table/${basename(value.path)}`, readFileSync(join(run.dir, value.path), "utf8"));
  }
  for (const row of run.history) uploader.pushRow(toRemoteRow(row));
  uploader.setSummary(toRemoteRow(run.summary));
  // A run that never finished (its process died) is sent as failed, so W&B does not show it as a clean finish.
  const exitCode = run.meta.state === "finished" ? (run.meta.exitCode ?? 0) : 1;
  const { state, error } = await uploader.finish(exitCode, options.timeoutMs ?? 120_000);
  const url = uploader.ref ? runUrl(baseUrl, uploader.ref.entity, project, run.meta.id) : "";
  const meta: RunMeta = {
    ...run.meta,
    entity: uploader.ref?.entity ?? run.meta.entity,
    remote: { state, baseUrl, url: url || undefined, error: failure ?? error },
  };
  writeJsonAtomic(join(run.dir, "run.json"), meta);
  if (state !== "uploaded") throw new Error(`${run.dir}: sync to ${baseUrl} failed: ${failure ?? error}`);
  return { url, rows: run.history.length, tables: tablePaths.size };
}
