/** Where a run is recorded: W&B plus the local copy, the local copy only, or nowhere. */
export type TrackingMode = "online" | "offline" | "disabled";

/** A table in W&B's table-file format (`columns` + row-major `data`), as stored on disk and uploaded. */
export interface Table {
  columns: string[];
  data: unknown[][];
}

/** What a history row or the summary holds in place of a table: W&B's `table-file` reference. */
export interface TableRef {
  _type: "table-file";
  /** Relative to the run directory locally (tables/…); W&B stores it under media/table/. */
  path: string;
  sha256: string;
  size: number;
  ncols: number;
  nrows: number;
}

/** State of the upload to W&B, recorded in run.json so `sync` knows what is left to do. */
export type RemoteState = "none" | "uploading" | "uploaded" | "failed" | "incomplete";

/** run.json: who the run is and how it ended. */
export interface RunMeta {
  id: string;
  project: string;
  entity?: string;
  name?: string;
  mode: TrackingMode;
  startedAt: string;
  /** When the run was last continued by a resumed process (same id, same directory, same W&B run). */
  resumedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  runtimeSeconds?: number;
  state: "running" | "finished";
  remote: { state: RemoteState; baseUrl?: string; url?: string; error?: string };
}

/** What `finish` reports: the local copy is always complete; the upload may not be. */
export interface FinishResult {
  runDir?: string;
  remote: RemoteState;
  error?: string;
}

/**
 * One run. Every method but `finish` returns at once: the local copy is written synchronously (append +
 * write, so a crash loses nothing logged) and uploads happen in the background.
 */
export interface Tracker {
  readonly mode: TrackingMode;
  readonly id: string;
  /** The local run directory (undefined when disabled). */
  readonly runDir: string | undefined;
  /** Merged into the run's config (W&B `config.update`). */
  updateConfig(values: Record<string, unknown>): void;
  /**
   * One history row at `step` (default: the step after the last one). Rows logged at the same step merge,
   * as in W&B; a step lower than the current one is dropped with a warning, as W&B does.
   */
  log(values: Record<string, unknown>, step?: number): void;
  /** Sets summary values (W&B `run.summary[k] = v`); the summary also holds each key's last logged value. */
  setSummary(values: Record<string, unknown>): void;
  /** Stores a table and logs its reference under `key` at `step`. */
  logTable(key: string, table: Table, step?: number): void;
  /** Ends the run: flushes the local copy and, online, the upload (bounded by `timeoutMs`). */
  finish(options?: { exitCode?: number; timeoutMs?: number }): Promise<FinishResult>;
  /**
   * Ends the run's local record at once, synchronously, for a process that is about to exit (a second Ctrl-C);
   * an unfinished upload is recorded as incomplete, for `openr1 sync`. Does nothing after `finish`.
   */
  closeNow(exitCode: number): void;
}

/** One evaluated problem, as the sample table shows it. */
export interface EvaluationSample {
  problem: string;
  problemType?: string;
  gold: string;
  prediction: string;
  /** The answer extracted from the prediction (empty when none was found). */
  extracted: string;
  /** null: the gold answer could not be parsed, so the sample is not scored. */
  correct: boolean | null;
  /** Score of the reasoning steps (open-r1's reasoning_steps reward), when computed. */
  stepScore?: number;
  /** Each reward's value for this sample (null: undefined for it); becomes a `reward/<name>` column. */
  rewards?: Record<string, number | null>;
  /** Length of the generated response in tokens. */
  responseLength?: number;
}

/** Aggregate evaluation results. */
export interface EvaluationSummary {
  accuracy: number;
  /** Mean of each reward over the samples, by reward name (e.g. accuracy, format, reasoning_steps). */
  rewardMeans?: Record<string, number>;
  accuracyByProblemType?: Record<string, number>;
  /** Anything else numeric (e.g. mean response length), logged as eval/<name>. */
  metrics?: Record<string, number>;
}
