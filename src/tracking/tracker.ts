import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { keepHistoryUpTo, LocalRunWriter } from "./local-run.js";
import { isTableRef, readRun, type RunData } from "./read-run.js";
import { RemoteUploader } from "./remote-uploader.js";
import type { FinishResult, RemoteState, RunMeta, Table, Tracker, TrackingMode } from "./types.js";
import { WandbClient } from "./wandb-client.js";

export interface TrackerOptions {
  /** Default: WANDB_MODE / WANDB_DISABLED, else online when an API key is set, else offline. */
  mode?: TrackingMode;
  /** Default: WANDB_PROJECT, else "openr1-ts". */
  project?: string;
  /** Default: WANDB_ENTITY, else the API key's default entity. */
  entity?: string;
  /** Display name (default: WANDB_NAME). */
  name?: string;
  /** Run id (default: WANDB_RUN_ID, else 8 random [a-z0-9]). */
  id?: string;
  /**
   * W&B's resume modes (default: WANDB_RESUME, else "never"): "allow" continues the local record of this id
   * under `runsDir` when there is one — the same directory, and online the same W&B run, its history re-sent
   * from row 1 so the server holds every step in order — and starts a new run otherwise; "must" requires one;
   * "never" refuses an id that already has a record, as W&B does.
   */
  resume?: ResumeMode;
  /** When resuming from a checkpoint: rows logged after this step are dropped, since they will be logged again. */
  resumeFromStep?: number;
  /** Where run directories go (default: WANDB_DIR, else ./runs). */
  runsDir?: string;
  config?: Record<string, unknown>;
  /** Default: WANDB_API_KEY. */
  apiKey?: string;
  /** Default: WANDB_BASE_URL, else https://api.wandb.ai. */
  baseUrl?: string;
  /** Time limit of each HTTP attempt (default 10 s). */
  requestTimeoutMs?: number;
  /** Extra attempts after a 5xx / network error (default 2). */
  retries?: number;
  /** How often queued rows are uploaded (default 5 s). */
  flushIntervalMs?: number;
  /** The most `finish` waits for the upload (default 30 s). */
  finishTimeoutMs?: number;
  /** Where warnings go (default console.warn). */
  warn?: (message: string) => void;
  /** Environment to read WANDB_* from (default process.env). */
  env?: Record<string, string | undefined>;
}

export type ResumeMode = "allow" | "must" | "never";

export const DEFAULT_PROJECT = "openr1-ts";
export const DEFAULT_BASE_URL = "https://api.wandb.ai";

/** The mode a run gets, and why (explicit option, WANDB_MODE, WANDB_DISABLED, or whether a key is set). */
export function resolveTrackingMode(options: TrackerOptions = {}): { mode: TrackingMode; reason: string } {
  const env = options.env ?? process.env;
  const hasKey = Boolean(options.apiKey ?? env.WANDB_API_KEY);
  let mode = options.mode;
  let reason = "mode option";
  if (mode === undefined && /^(true|1|yes)$/i.test(env.WANDB_DISABLED ?? "")) [mode, reason] = ["disabled", "WANDB_DISABLED"];
  if (mode === undefined && env.WANDB_MODE) {
    const m = env.WANDB_MODE.toLowerCase();
    const byName: Record<string, TrackingMode> = { online: "online", run: "online", offline: "offline", dryrun: "offline", disabled: "disabled" };
    if (!(m in byName)) throw new Error(`WANDB_MODE="${env.WANDB_MODE}": expected online, offline or disabled`);
    [mode, reason] = [byName[m], "WANDB_MODE"];
  }
  if (mode === undefined) [mode, reason] = hasKey ? ["online", "WANDB_API_KEY is set"] : ["offline", "no WANDB_API_KEY"];
  if (mode === "online" && !hasKey) return { mode: "offline", reason: `${reason} asks for online but WANDB_API_KEY is not set` };
  return { mode, reason };
}

export function newRunId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(randomBytes(8), (b) => alphabet[b % alphabet.length]).join("");
}

function resumeMode(value: string | undefined): ResumeMode {
  const v = (value ?? "never").trim().toLowerCase();
  // W&B also accepts "auto" and true for "allow".
  if (v === "allow" || v === "auto" || v === "true" || v === "1") return "allow";
  if (v === "must" || v === "never") return v;
  if (v === "" || v === "false" || v === "0") return "never";
  throw new Error(`WANDB_RESUME="${value}": expected allow, must or never`);
}

/** The local record of run `id` under `runsDir` (run-<time>-<id> holding run.json), if there is one. */
export function findRunDir(runsDir: string, id: string): string | undefined {
  const root = resolve(runsDir);
  if (!existsSync(root)) return undefined;
  const names = readdirSync(root).filter((n) => n.startsWith("run-") && n.endsWith(`-${id}`) && existsSync(join(root, n, "run.json")));
  return names.sort().map((n) => join(root, n))[0];
}

/** W&B's web address for a run (the API host api.wandb.ai serves the app at wandb.ai). */
export function runUrl(baseUrl: string, entity: string, project: string, id: string): string {
  return `${baseUrl.replace("//api.", "//")}/${entity}/${project}/runs/${id}`;
}

/** A history row as W&B stores it: table references point at media/table/ instead of the local tables/. */
export function toRemoteRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) out[k] = isTableRef(v) ? { ...v, path: `media/table/${basename(v.path)}` } : v;
  return out;
}

class DisabledTracker implements Tracker {
  readonly mode = "disabled";
  readonly runDir = undefined;
  constructor(readonly id: string) {}
  updateConfig(): void {}
  log(): void {}
  setSummary(): void {}
  logTable(): void {}
  async finish(): Promise<FinishResult> {
    return { remote: "none" };
  }
  closeNow(): void {}
}

class RunTracker implements Tracker {
  readonly runDir: string;
  private readonly local: LocalRunWriter;
  private started = Date.now();
  private config: Record<string, unknown>;
  private readonly lastValues: Record<string, unknown> = {};
  private readonly summary: Record<string, unknown> = {};
  private step = -1;
  private pending: Record<string, unknown> | undefined;
  private finished: Promise<FinishResult> | undefined;

  constructor(
    readonly mode: "online" | "offline",
    readonly id: string,
    private readonly meta: RunMeta,
    runsDir: string,
    private readonly warn: (message: string) => void,
    private readonly finishTimeoutMs: number,
    private readonly remote: RemoteUploader | undefined,
    previous?: RunData,
  ) {
    const stamp = meta.startedAt.replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
    this.runDir = previous?.dir ?? join(resolve(runsDir), `run-${stamp}-${id}`);
    this.local = new LocalRunWriter(this.runDir, meta, previous !== undefined);
    this.config = previous?.config ?? {};
    if (previous) this.continueFrom(previous);
    if (remote) remote.onEntity = (entity) => this.local.writeMeta({ entity, remote: { ...meta.remote, url: this.url() } });
  }

  /** Picks up an earlier part of this run: its step, values and runtime; online, its rows and tables are re-sent. */
  private continueFrom(previous: RunData): void {
    const last = previous.history.at(-1);
    this.step = last?._step ?? -1;
    Object.assign(this.lastValues, ...previous.history);
    Object.assign(this.summary, previous.summary);
    const runtime = previous.meta.runtimeSeconds ?? (typeof last?._runtime === "number" ? last._runtime : 0);
    this.started = Date.now() - runtime * 1000;
    if (!this.remote) return;
    const tables = new Set<string>();
    for (const value of previous.history.flatMap((r) => Object.values(r))) {
      if (!isTableRef(value) || tables.has(value.path)) continue;
      tables.add(value.path);
      this.remote.addFile(`media/table/${basename(value.path)}`, readFileSync(join(previous.dir, value.path), "utf8"));
    }
    // From offset 0: whatever the server got from the earlier process is overwritten in place, nothing is missing.
    for (const row of previous.history) this.remote.pushRow(toRemoteRow(row));
  }

  updateConfig(values: Record<string, unknown>): void {
    this.config = { ...this.config, ...values };
    this.local.writeConfig(this.config);
    this.remote?.setConfig(this.config);
  }

  log(values: Record<string, unknown>, step?: number): void {
    if (this.finished) return this.warn(`W&B run ${this.id}: log after finish ignored`);
    const at = step ?? this.step + 1;
    if (at < this.step) {
      return this.warn(`W&B run ${this.id}: step ${at} is lower than the current step ${this.step}; row dropped`);
    }
    const row = { ...values, _step: at, _runtime: (Date.now() - this.started) / 1000, _timestamp: Date.now() / 1000 };
    this.local.appendHistory(row);
    Object.assign(this.lastValues, row);
    for (const k of Object.keys(row)) delete this.summary[k]; // a logged value replaces a set one, as in W&B
    if (this.pending !== undefined && at > this.step) this.remote?.pushRow(toRemoteRow(this.pending));
    this.pending = at > this.step || this.pending === undefined ? row : { ...this.pending, ...row };
    this.step = at;
    this.remote?.setSummary(toRemoteRow(this.fullSummary()));
  }

  setSummary(values: Record<string, unknown>): void {
    Object.assign(this.summary, values);
    this.local.writeSummary(this.fullSummary());
    this.remote?.setSummary(toRemoteRow(this.fullSummary()));
  }

  logTable(key: string, table: Table, step?: number): void {
    const at = step ?? Math.max(this.step, 0);
    const { ref, body } = this.local.writeTable(key, at, table);
    this.remote?.addFile(`media/table/${basename(ref.path)}`, body);
    this.log({ [key]: ref }, at);
  }

  private fullSummary(): Record<string, unknown> {
    return { ...this.lastValues, ...this.summary };
  }

  finish(options: { exitCode?: number; timeoutMs?: number } = {}): Promise<FinishResult> {
    this.finished ??= this.doFinish(options.exitCode ?? 0, options.timeoutMs ?? this.finishTimeoutMs);
    return this.finished;
  }

  closeNow(exitCode: number): void {
    if (this.finished) return;
    this.finished = Promise.resolve({ runDir: this.runDir, remote: this.remote ? "incomplete" : "none" });
    const runtimeSeconds = (Date.now() - this.started) / 1000;
    this.summary._runtime = runtimeSeconds;
    this.local.writeSummary(this.fullSummary());
    const error = this.remote ? `the process quit before the upload finished; upload it with \`openr1 sync ${this.runDir}\`` : undefined;
    this.local.writeMeta({
      state: "finished",
      finishedAt: new Date().toISOString(),
      exitCode,
      runtimeSeconds,
      remote: { ...this.meta.remote, state: this.remote ? "incomplete" : "none", url: this.url(), error },
    });
    this.local.close();
  }

  private async doFinish(exitCode: number, timeoutMs: number): Promise<FinishResult> {
    const runtimeSeconds = (Date.now() - this.started) / 1000;
    this.summary._runtime = runtimeSeconds;
    this.local.writeSummary(this.fullSummary());
    let remote: RemoteState = "none";
    let error: string | undefined;
    if (this.remote) {
      if (this.pending !== undefined) this.remote.pushRow(toRemoteRow(this.pending));
      this.remote.setSummary(toRemoteRow(this.fullSummary()));
      ({ state: remote, error } = await this.remote.finish(exitCode, timeoutMs));
      if (remote !== "uploaded") this.warn(`W&B run ${this.id}: ${error}; the local copy in ${this.runDir} is complete, upload it with \`openr1 sync ${this.runDir}\``);
    }
    this.local.writeMeta({
      state: "finished",
      finishedAt: new Date().toISOString(),
      exitCode,
      runtimeSeconds,
      remote: { ...this.meta.remote, state: remote, url: this.url(), error },
    });
    this.local.close();
    return { runDir: this.runDir, remote, error };
  }

  private url(): string | undefined {
    const ref = this.remote?.ref;
    return ref && this.meta.remote.baseUrl ? runUrl(this.meta.remote.baseUrl, ref.entity, ref.project, ref.id) : undefined;
  }
}

/** Starts a run in the resolved mode. Returns at once: online, the W&B side starts in the background. */
export function createTracker(options: TrackerOptions = {}): Tracker {
  const env = options.env ?? process.env;
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const { mode, reason } = resolveTrackingMode(options);
  const id = options.id ?? env.WANDB_RUN_ID ?? newRunId();
  if (mode === "disabled") return new DisabledTracker(id);
  const runsDir = options.runsDir ?? env.WANDB_DIR ?? "runs";
  const resume = options.resume ?? resumeMode(env.WANDB_RESUME);
  const existing = findRunDir(runsDir, id);
  if (resume === "must" && !existing) throw new Error(`Cannot resume run ${id}: no record of it under ${resolve(runsDir)} (resume "must")`);
  if (resume === "never" && existing) {
    throw new Error(`Run ${id} already has a record (${existing}): set WANDB_RESUME=allow to continue it, or use another run id`);
  }
  const previousDir = resume === "never" ? undefined : existing;
  if (previousDir && options.resumeFromStep !== undefined) keepHistoryUpTo(previousDir, options.resumeFromStep);
  const previous = previousDir ? readRun(previousDir) : undefined;
  if (mode === "offline" && reason.includes("asks for online")) warn(`W&B: ${reason}; logging offline`);
  const project = options.project ?? env.WANDB_PROJECT ?? DEFAULT_PROJECT;
  // A resumed run stays under the entity it was recorded with.
  const entity = options.entity ?? env.WANDB_ENTITY ?? previous?.meta.entity;
  const name = options.name ?? env.WANDB_NAME;
  const baseUrl = (options.baseUrl ?? env.WANDB_BASE_URL ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
  const now = new Date().toISOString();
  const meta: RunMeta = {
    id,
    project,
    entity,
    name,
    mode,
    startedAt: previous?.meta.startedAt ?? now,
    resumedAt: previous ? now : undefined,
    state: "running",
    remote: { state: mode === "online" ? "uploading" : "none", baseUrl: mode === "online" ? baseUrl : undefined },
  };
  let remote: RemoteUploader | undefined;
  if (mode === "online") {
    const abort = new AbortController();
    const client = new WandbClient({
      apiKey: (options.apiKey ?? env.WANDB_API_KEY)!,
      baseUrl,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      retries: options.retries ?? 2,
      signal: abort.signal,
    });
    remote = new RemoteUploader(client, abort, {
      project,
      entity,
      id,
      displayName: name,
      flushIntervalMs: options.flushIntervalMs ?? 5_000,
      onError: (m) => warn(`W&B: ${m}; run ${id} goes on local-only (upload it later with \`openr1 sync\`)`),
    }, options.config ?? {});
  }
  const tracker = new RunTracker(mode, id, meta, runsDir, warn, options.finishTimeoutMs ?? 30_000, remote, previous);
  if (options.config) tracker.updateConfig(options.config);
  return tracker;
}
