import type { RemoteRunRef, WandbClient } from "./wandb-client.js";
import type { RemoteState } from "./types.js";

const MAX_ROWS_PER_POST = 500;

export interface UploaderOptions {
  project: string;
  /** Unset: the API key's default entity (GraphQL Viewer). */
  entity?: string;
  id: string;
  displayName?: string;
  /** How often queued rows are sent while the run goes on. */
  flushIntervalMs: number;
  /** Called once, with the first error; the uploader then stops and the run stays local-only. */
  onError: (message: string) => void;
}

/**
 * Uploads one run in the background: UpsertBucket, then file_stream posts of history rows (with their
 * line offsets) and the summary, then `complete`. Callers only queue; nothing here blocks them. The first
 * failure (after the client's bounded retries) stops the upload for good: the local copy has everything
 * and `sync` can upload it later.
 */
export class RemoteUploader {
  state: RemoteState = "uploading";
  error: string | undefined;
  ref: RemoteRunRef | undefined;
  /** Told the entity once it is known (WANDB_ENTITY or the key's default), so run.json can record it. */
  onEntity: ((entity: string) => void) | undefined;

  private readonly rows: string[] = [];
  private sentRows = 0;
  private summary: Record<string, unknown> | undefined;
  private config: Record<string, unknown> | undefined;
  private readonly files: { name: string; body: string }[] = [];
  private finishing = false;
  private exitCode = 0;
  private wake: (() => void) | undefined;
  private readonly loop: Promise<void>;

  constructor(
    private readonly client: WandbClient,
    private readonly abort: AbortController,
    private readonly options: UploaderOptions,
    config: Record<string, unknown>,
  ) {
    this.config = config;
    this.loop = this.run();
  }

  setConfig(config: Record<string, unknown>): void {
    this.config = config;
  }

  pushRow(row: Record<string, unknown>): void {
    if (this.state === "uploading") this.rows.push(JSON.stringify(row));
  }

  setSummary(summary: Record<string, unknown>): void {
    this.summary = summary;
  }

  addFile(name: string, body: string): void {
    if (this.state === "uploading") this.files.push({ name, body });
  }

  /** Sends what is queued and `complete`, giving up (and aborting requests) after `timeoutMs`. */
  async finish(exitCode: number, timeoutMs: number): Promise<{ state: RemoteState; error?: string }> {
    this.finishing = true;
    this.exitCode = exitCode;
    this.wake?.();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    });
    const expired = await Promise.race([this.loop.then(() => false), timedOut]);
    clearTimeout(timer);
    if (expired && this.state === "uploading") {
      this.state = "incomplete";
      this.error = `the upload did not finish within ${timeoutMs} ms`;
      this.abort.abort();
      await this.loop;
    }
    return { state: this.state, error: this.error };
  }

  private async run(): Promise<void> {
    try {
      const entity = this.options.entity || (await this.client.viewerEntity());
      this.ref = { entity, project: this.options.project, id: this.options.id };
      this.onEntity?.(entity);
      for (;;) {
        await this.flush();
        if (this.finishing) break;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, this.options.flushIntervalMs).unref();
        });
      }
      await this.client.fileStream(this.ref, { complete: true, exitcode: this.exitCode });
      this.state = "uploaded";
    } catch (e) {
      if (this.state !== "uploading") return; // already timed out: that is what gets reported
      this.state = "failed";
      this.error = (e as Error).message;
      this.abort.abort();
      this.options.onError(this.error);
    }
  }

  private async flush(): Promise<void> {
    const ref = this.ref!;
    if (this.config !== undefined) {
      const config = this.config;
      this.config = undefined;
      await this.client.upsertRun(ref, { displayName: this.options.displayName, config });
    }
    while (this.files.length > 0) {
      const file = this.files[0];
      await this.client.uploadFile(ref, file.name, file.body);
      this.files.shift();
    }
    while (this.sentRows < this.rows.length || this.summary !== undefined) {
      const content = this.rows.slice(this.sentRows, this.sentRows + MAX_ROWS_PER_POST);
      const files: Record<string, { offset: number; content: string[] }> = {};
      if (content.length > 0) files["wandb-history.jsonl"] = { offset: this.sentRows, content };
      const summary = this.summary;
      this.summary = undefined;
      if (summary !== undefined) files["wandb-summary.json"] = { offset: 0, content: [JSON.stringify(summary)] };
      try {
        await this.client.fileStream(ref, { files });
      } catch (e) {
        this.summary ??= summary;
        throw e;
      }
      this.sentRows += content.length;
    }
  }
}
