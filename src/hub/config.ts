import { homedir } from "node:os";
import { join, resolve, sep } from "node:path";

export type RepoType = "model" | "dataset";

/** Where the Hub is and how to talk to it, from options first and the huggingface_hub environment variables second. */
export interface HubSettings {
  endpoint: string;
  cacheDir: string;
  token?: string;
  offline: boolean;
  /** How long a metadata request (HEAD, file listing) may take before it fails: HF_HUB_ETAG_TIMEOUT, default 10 s. */
  etagTimeoutMs: number;
  /** How long a download may wait for the server's next bytes before the attempt is retried: HF_HUB_DOWNLOAD_TIMEOUT, default 10 s. */
  downloadTimeoutMs: number;
  /**
   * Accept files whose content the server does not identify (an ETag that is neither a sha256 nor a git blob sha1,
   * as from some mirrors): OPENR1_HUB_ALLOW_UNVERIFIED, default off (refused). Such a file must match the size the
   * server announces and a second download of it.
   */
  allowUnverified: boolean;
}

export interface HubSettingsOptions {
  endpoint?: string;
  cacheDir?: string;
  token?: string;
  offline?: boolean;
  etagTimeoutMs?: number;
  downloadTimeoutMs?: number;
  allowUnverified?: boolean;
}

const TRUE_VALUES = new Set(["1", "true", "yes", "on"]);

function envFlag(value: string | undefined): boolean {
  return value !== undefined && TRUE_VALUES.has(value.trim().toLowerCase());
}

/**
 * The cache root, as huggingface_hub resolves it: HF_HUB_CACHE, else $HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
 */
export function defaultHubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, "hub");
  const xdg = env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  return join(xdg, "huggingface", "hub");
}

/** A time limit in seconds from the environment (huggingface_hub's variables), in milliseconds. */
function envSeconds(name: string, value: string | undefined, fallbackSeconds: number): number {
  if (value === undefined || value.trim() === "") return fallbackSeconds * 1000;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`${name}=${value} is not a positive number of seconds`);
  return seconds * 1000;
}

export function resolveHubSettings(options: HubSettingsOptions = {}, env: NodeJS.ProcessEnv = process.env): HubSettings {
  const endpoint = (options.endpoint ?? env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, "");
  const token = options.token ?? env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN;
  return {
    endpoint,
    cacheDir: options.cacheDir ?? defaultHubCacheDir(env),
    token: token && token.length > 0 ? token : undefined,
    offline: options.offline ?? envFlag(env.HF_HUB_OFFLINE),
    etagTimeoutMs: options.etagTimeoutMs ?? envSeconds("HF_HUB_ETAG_TIMEOUT", env.HF_HUB_ETAG_TIMEOUT, 10),
    downloadTimeoutMs: options.downloadTimeoutMs ?? envSeconds("HF_HUB_DOWNLOAD_TIMEOUT", env.HF_HUB_DOWNLOAD_TIMEOUT, 10),
    allowUnverified: options.allowUnverified ?? envFlag(env.OPENR1_HUB_ALLOW_UNVERIFIED),
  };
}

/** `{endpoint}/datasets/{repo}/resolve/{revision}/{file}` for datasets, `{endpoint}/{repo}/resolve/{revision}/{file}` for models. */
export function hubFileUrl(endpoint: string, repoType: RepoType, repoId: string, revision: string, filename: string): string {
  const prefix = repoType === "dataset" ? "datasets/" : "";
  const file = filename.split("/").map(encodeURIComponent).join("/");
  return `${endpoint}/${prefix}${repoId}/resolve/${encodeURIComponent(revision)}/${file}`;
}

/**
 * The cached copy of a file: `{cache}/{datasets|models}--{owner}--{name}/snapshots/{revision}/{file}`,
 * the folder names huggingface_hub uses (plain files here, where huggingface_hub links into blobs/).
 */
export function cachedFilePath(cacheDir: string, repoType: RepoType, repoId: string, revision: string, filename: string): string {
  const repoFolder = `${repoType}s--${repoId.split("/").join("--")}`;
  return join(cacheDir, repoFolder, "snapshots", revision.replace(/\//g, "--"), ...filename.split("/"));
}

/**
 * `err` with how to clear the cache entry `path` added to its message, when `path` (a file, or a model's folder) lies
 * in the Hub cache: a cached download that fails to load is cleared by deleting it, and the next run downloads it
 * again. Other errors and paths are returned unchanged.
 */
export function withCacheHint<E>(err: E, path: string, options: HubSettingsOptions = {}): E {
  const entry = resolve(path);
  if (err instanceof Error && entry.startsWith(resolve(resolveHubSettings(options).cacheDir) + sep)) {
    err.message += ` — ${entry} is a cached Hub download: delete it (rm -r '${entry}') and run again to download it afresh`;
  }
  return err;
}
