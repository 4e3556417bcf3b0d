import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { cachedFilePath, hubFileUrl, resolveHubSettings, type HubSettingsOptions, type RepoType } from "./config.js";
import { HubDownloadError, statusError } from "./errors.js";
import { withFileLock } from "./lock.js";
import { byteProgress } from "./progress.js";

export interface HubFileRequest extends HubSettingsOptions {
  repoId: string;
  /** Default "model". */
  repoType?: RepoType;
  /** Branch, tag or commit; default "main". Pin a commit for reproducible data. */
  revision?: string;
  /** Path of the file inside the repository, e.g. "data/train-00000-of-00010.parquet". */
  filename: string;
  /** Show a progress bar on stderr; default: when stderr is a terminal. */
  progress?: boolean;
  /** How many times a cut connection is resumed before giving up; default 5. */
  retries?: number;
  /** Wait before retry k is k × this many milliseconds; default 1000. */
  retryDelayMs?: number;
}

interface RemoteFile {
  downloadUrl: string;
  size?: number;
  sha256?: string;
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

function describe(req: HubFileRequest, revision: string): string {
  const kind = (req.repoType ?? "model") === "dataset" ? "dataset " : "";
  return `${req.filename} from ${kind}${req.repoId}@${revision}`;
}

function stripEtag(etag: string | null): string | undefined {
  if (!etag) return undefined;
  return etag.replace(/^W\//, "").replace(/"/g, "").trim().toLowerCase();
}

/**
 * Resolves the file the way huggingface_hub does: a HEAD that does not follow the redirect to the CDN, so
 * that the Hub's own X-Linked-Size / X-Linked-Etag (the LFS size and sha256) can be read.
 */
async function resolveRemote(url: string, headers: Record<string, string>, what: string, hasToken: boolean): Promise<RemoteFile> {
  let current = url;
  for (let hop = 0; hop < 5; hop++) {
    let res: Response;
    try {
      res = await fetch(current, { method: "HEAD", redirect: "manual", headers: { ...headers, "accept-encoding": "identity" } });
    } catch (err) {
      throw new HubDownloadError(`Cannot reach the Hub for ${what} (${current}): ${describeError(err)}. Set HF_HUB_OFFLINE=1 to use the cache only.`);
    }
    const linkedSize = res.headers.get("x-linked-size");
    const contentLength = res.headers.get("content-length");
    const sizeHeader = linkedSize ?? (res.status < 300 ? contentLength : null);
    const etag = stripEtag(res.headers.get("x-linked-etag") ?? res.headers.get("etag"));
    const meta = {
      size: sizeHeader !== null ? Number(sizeHeader) : undefined,
      sha256: etag && /^[0-9a-f]{64}$/.test(etag) ? etag : undefined,
    };
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get("location");
      if (!location) throw new HubDownloadError(`Cannot download ${what}: HTTP ${res.status} without a Location header from ${current}`);
      const next = new URL(location, current);
      // A relative redirect stays on the Hub (renamed repository): resolve again. An absolute one is the CDN.
      if (location.startsWith("/")) {
        current = next.toString();
        continue;
      }
      return { downloadUrl: next.toString(), ...meta };
    }
    if (!res.ok) throw statusError(res.status, res.headers.get("x-error-code"), what, current, hasToken);
    return { downloadUrl: current, ...meta };
  }
  throw new HubDownloadError(`Cannot download ${what}: too many redirects from ${url}`);
}

/** fetch reports network failures as "fetch failed" with the reason in `cause`. */
function describeError(err: unknown): string {
  const e = err as Error & { cause?: { message?: string; code?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `${e.message} (${cause})` : e.message;
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

/** One GET onto the `.incomplete` file, from its current size on (a Range request) when there is one. */
async function fetchInto(
  remote: RemoteFile,
  partial: string,
  headers: Record<string, string>,
  what: string,
  showProgress: boolean,
  hasToken: boolean,
): Promise<void> {
  let offset = (await fileSize(partial)) ?? 0;
  if (remote.size !== undefined && offset > remote.size) {
    await rm(partial, { force: true });
    offset = 0;
  }
  if (remote.size !== undefined && offset === remote.size) return;
  const res = await fetch(remote.downloadUrl, { headers: offset > 0 ? { ...headers, range: `bytes=${offset}-` } : headers });
  if (res.status === 416) {
    await rm(partial, { force: true });
    throw new Error("range not satisfiable, restarting");
  }
  if (!res.ok) throw statusError(res.status, res.headers.get("x-error-code"), what, remote.downloadUrl, hasToken);
  const append = offset > 0 && res.status === 206;
  const start = append ? offset : 0;
  const bar = byteProgress(what, remote.size, start, showProgress);
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bar.advance(chunk.length);
      done(null, chunk);
    },
  });
  const sink = createWriteStream(partial, { flags: append ? "a" : "w" });
  // On a cut connection the next attempt reads the file size to resume from: wait until every write has landed.
  const closed = new Promise<void>((resolve) => sink.once("close", () => resolve()));
  try {
    if (!res.body) throw new Error("empty response body");
    await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), counter, sink);
  } finally {
    sink.destroy();
    await closed;
    bar.stop();
  }
}

/**
 * Downloads one file of a Hub repository into the cache and returns its local path. A cached file is returned
 * without any request. Cut connections are resumed with Range requests onto `<file>.incomplete`; the result is
 * checked against the size and the sha256 the Hub announces (LFS files) and only then renamed into place.
 */
export async function hubDownload(req: HubFileRequest): Promise<string> {
  const settings = resolveHubSettings(req);
  const repoType = req.repoType ?? "model";
  const revision = req.revision ?? "main";
  const what = describe(req, revision);
  const dest = cachedFilePath(settings.cacheDir, repoType, req.repoId, revision, req.filename);
  if ((await fileSize(dest)) !== undefined) return dest;
  if (settings.offline) {
    throw new HubDownloadError(
      `${what} is not in the cache (${dest}) and offline mode is on (HF_HUB_OFFLINE or offline: true). ` +
        `Download it once with network access, or load from a local path instead.`,
    );
  }
  const url = hubFileUrl(settings.endpoint, repoType, req.repoId, revision, req.filename);
  const authHeaders: Record<string, string> = settings.token ? { authorization: `Bearer ${settings.token}` } : {};
  const hasToken = settings.token !== undefined;
  const remote = await resolveRemote(url, authHeaders, what, hasToken);
  // Never send the token to a CDN on another host.
  const sameOrigin = new URL(remote.downloadUrl).origin === new URL(settings.endpoint).origin;
  const getHeaders = sameOrigin ? authHeaders : {};

  await mkdir(dirname(dest), { recursive: true });
  return withFileLock(`${dest}.lock`, async () => {
    // Another process may have finished it while this one waited for the lock.
    if ((await fileSize(dest)) !== undefined) return dest;
    const partial = `${dest}.incomplete`;
    const showProgress = req.progress ?? process.stderr.isTTY === true;
    const retries = req.retries ?? 5;
    for (let attempt = 0; ; attempt++) {
      try {
        await fetchInto(remote, partial, getHeaders, what, showProgress, hasToken);
        const got = (await fileSize(partial)) ?? 0;
        if (remote.size === undefined || got === remote.size) break;
        if (got > remote.size) {
          await rm(partial, { force: true });
          throw new HubDownloadError(`Downloaded ${what} is ${got} bytes, larger than the ${remote.size} the Hub announced; removed it.`);
        }
        throw new Error(`connection closed after ${got} of ${remote.size} bytes`);
      } catch (err) {
        if (err instanceof HubDownloadError) throw err;
        if (attempt >= retries) {
          throw new HubDownloadError(
            `Download of ${what} failed after ${retries + 1} attempts: ${describeError(err)}. ` +
              `The partial file ${partial} is kept; run again to resume.`,
          );
        }
        await sleep((attempt + 1) * (req.retryDelayMs ?? 1000));
      }
    }
    if (remote.sha256 !== undefined) {
      const actual = await sha256OfFile(partial);
      if (actual !== remote.sha256) {
        await rm(partial, { force: true });
        throw new HubDownloadError(
          `Checksum mismatch for ${what}: sha256 ${actual}, the Hub announced ${remote.sha256}. The corrupt download was removed; run again.`,
        );
      }
    }
    await rename(partial, dest);
    return dest;
  });
}

/** Downloads several files of one repository (one after the other) and returns their local paths in order. */
export async function hubDownloadFiles(req: Omit<HubFileRequest, "filename">, filenames: readonly string[]): Promise<string[]> {
  const paths: string[] = [];
  for (const filename of filenames) paths.push(await hubDownload({ ...req, filename }));
  return paths;
}
