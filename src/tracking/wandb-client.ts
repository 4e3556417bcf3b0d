import { setTimeout as sleep } from "node:timers/promises";

// The documents @wandb/sdk 0.5.1 sends (node_modules/@wandb/sdk/dist/internal/api.js), trimmed to the
// fields used here.
const VIEWER = `query Viewer { viewer { id entity flags teams { edges { node { name } } } } }`;
const UPSERT_BUCKET = `mutation UpsertBucket($id: String, $name: String, $project: String, $entity: String,
  $displayName: String, $config: JSONString, $summaryMetrics: JSONString, $state: String) {
  upsertBucket(input: { id: $id, name: $name, modelName: $project, entityName: $entity, displayName: $displayName,
    config: $config, summaryMetrics: $summaryMetrics, state: $state }) {
    bucket { id name displayName project { id name entity { id name } } }
    inserted
  }
}`;
const RUN_UPLOAD_URLS = `query RunUploadUrls($name: String!, $files: [String]!, $entity: String, $run: String!) {
  model(name: $name, entityName: $entity) {
    bucket(name: $run) { id files(names: $files) { uploadHeaders edges { node { name url(upload: true) } } } }
  }
}`;

export interface WandbClientSettings {
  apiKey: string;
  /** e.g. https://api.wandb.ai (WANDB_BASE_URL). */
  baseUrl: string;
  /** Each HTTP attempt is aborted after this long. */
  requestTimeoutMs: number;
  /** Extra attempts after a 5xx, a network error or a timeout (4xx is final). */
  retries: number;
  /** Aborts every request and backoff at once (the tracker's deadline). */
  signal?: AbortSignal;
}

/** The run as W&B names it: files/{entity}/{project}/{id}. */
export interface RemoteRunRef {
  entity: string;
  project: string;
  id: string;
}

/** One file_stream POST body: history lines from `offset`, the whole summary, or the final `complete`. */
export interface FileStreamPayload {
  files?: Record<string, { offset: number; content: string[] }>;
  complete?: boolean;
  exitcode?: number;
}

export class WandbRequestError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

/** W&B config values are stored as {key: {value, desc}} (what the Python SDK sends and the UI reads). */
export function toWandbConfig(config: Record<string, unknown>): Record<string, { value: unknown; desc: null }> {
  return Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value, desc: null }]));
}

/**
 * Speaks W&B's HTTP protocol (GraphQL at /graphql, the run's file_stream, signed-URL uploads) with fetch.
 * Every attempt has a time limit and retries are few, so a call always ends: with a result or an error.
 */
export class WandbClient {
  private readonly auth: string;

  constructor(private readonly settings: WandbClientSettings) {
    this.auth = `Basic ${Buffer.from(`api:${settings.apiKey}`).toString("base64")}`;
  }

  private async request(url: string, init: RequestInit, what: string): Promise<Response> {
    const { requestTimeoutMs, retries, signal } = this.settings;
    let lastError: WandbRequestError | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await sleep(Math.min(250 * 2 ** attempt, 4000), undefined, { signal });
      const timeout = AbortSignal.timeout(requestTimeoutMs);
      try {
        const res = await fetch(url, { ...init, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
        if (res.ok) return res;
        const body = (await res.text()).slice(0, 200);
        lastError = new WandbRequestError(`${what}: HTTP ${res.status} from ${url}${body ? `: ${body}` : ""}`, res.status);
        if (res.status < 500 && res.status !== 429) throw lastError;
      } catch (e) {
        if (e instanceof WandbRequestError) throw e;
        if (signal?.aborted) throw new WandbRequestError(`${what}: aborted (${url})`);
        const reason = timeout.aborted ? `no answer within ${requestTimeoutMs} ms` : ((e as Error).cause as Error)?.message ?? (e as Error).message;
        lastError = new WandbRequestError(`${what}: ${reason} (${url})`);
      }
    }
    throw lastError!;
  }

  async graphql<T>(query: string, variables: Record<string, unknown>, what: string): Promise<T> {
    const res = await this.request(
      `${this.settings.baseUrl}/graphql`,
      { method: "POST", headers: this.headers(), body: JSON.stringify({ query, variables }) },
      what,
    );
    const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
    if (body.errors?.length) throw new WandbRequestError(`${what}: ${body.errors.map((e) => e.message).join("; ")}`);
    if (body.data == null) throw new WandbRequestError(`${what}: no data in the GraphQL answer`);
    return body.data;
  }

  private headers(): Record<string, string> {
    return { Authorization: this.auth, "Content-Type": "application/json", "User-Agent": "openr1-ts W&B client" };
  }

  /** The API key's default entity (user or team), used when WANDB_ENTITY is not set. */
  async viewerEntity(): Promise<string> {
    const data = await this.graphql<{ viewer: { entity?: string } | null }>(VIEWER, {}, "W&B Viewer query");
    const entity = data.viewer?.entity;
    if (!entity) throw new WandbRequestError("W&B Viewer query: the API key has no default entity; set WANDB_ENTITY");
    return entity;
  }

  /** Creates or updates the run (its config, display name, summary). */
  async upsertRun(
    run: RemoteRunRef,
    fields: { displayName?: string; config?: Record<string, unknown>; summary?: Record<string, unknown>; state?: string },
  ): Promise<void> {
    await this.graphql(
      UPSERT_BUCKET,
      {
        name: run.id,
        project: run.project,
        entity: run.entity,
        displayName: fields.displayName,
        config: fields.config ? JSON.stringify(toWandbConfig(fields.config)) : undefined,
        summaryMetrics: fields.summary ? JSON.stringify(fields.summary) : undefined,
        state: fields.state,
      },
      "W&B UpsertBucket",
    );
  }

  async fileStream(run: RemoteRunRef, payload: FileStreamPayload): Promise<void> {
    const url = `${this.settings.baseUrl}/files/${run.entity}/${run.project}/${run.id}/file_stream`;
    await this.request(url, { method: "POST", headers: this.headers(), body: JSON.stringify(payload) }, "W&B file_stream");
  }

  /** Uploads a run file (e.g. media/table/….table.json) through the signed URL W&B hands out. */
  async uploadFile(run: RemoteRunRef, name: string, body: string): Promise<void> {
    type Files = { uploadHeaders?: string[]; edges: { node: { name: string; url: string } }[] };
    const data = await this.graphql<{ model: { bucket: { files: Files } | null } | null }>(
      RUN_UPLOAD_URLS,
      { name: run.project, entity: run.entity, run: run.id, files: [name] },
      "W&B RunUploadUrls",
    );
    const files = data.model?.bucket?.files;
    const url = files?.edges.find((e) => e.node.name === name)?.node.url;
    if (!url) throw new WandbRequestError(`W&B RunUploadUrls: no upload URL for ${name}`);
    const headers: Record<string, string> = {};
    for (const h of files?.uploadHeaders ?? []) {
      const i = h.indexOf(":");
      if (i > 0) headers[h.slice(0, i)] = h.slice(i + 1);
    }
    await this.request(url, { method: "PUT", headers, body }, `W&B upload of ${name}`);
  }
}
