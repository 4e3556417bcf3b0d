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
import { withFileLock } from "../files/lock.js";
import { byteProgress } from "../progress.js";

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
  /** Where "retrying …" lines go; default stderr. */
  log?: (line: string) => void;
}

interface RemoteFile {
  downloadUrl: string;
  size?: number;
  /** The ETag as announced (X-Linked-Etag or ETag), for messages. */
  etag: string;
  /** LFS files: the sha256 of the content (X-Linked-Etag). */
  sha256?: string;
  /** Files stored in git: the git blob sha1 of the content (ETag). */
  gitSha1?: string;
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

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/** A web page where a file was expected: a proxy, a login portal or an HF_ENDPOINT that is not a Hub. */
function isHtmlInsteadOf(res: Response, filename: string): boolean {
  return /text\/html/i.test(res.headers.get("content-type") ?? "") && !/\.html?$/i.test(filename);
}

function notAHub(what: string, url: string, why: string): HubDownloadError {
  return new HubDownloadError(
    `Cannot download ${what}: ${url} does not answer like a Hugging Face Hub (${why}); nothing was cached. ` +
      `Check HF_ENDPOINT, proxies and network portals.`,
  );
}

/**
 * Resolves the file the way huggingface_hub does: a HEAD that does not follow the redirect to the CDN, so
 * that the Hub's own X-Linked-Size / X-Linked-Etag (the LFS size and sha256) can be read. Like huggingface_hub,
 * an answer without X-Repo-Commit and ETag is not the Hub's, and is refused.
 */
async function resolveRemote(url: string, headers: Record<string, string>, what: string, filename: string, hasToken: boolean, timeoutMs: number): Promise<RemoteFile> {
  let current = url;
  for (let hop = 0; hop < 5; hop++) {
    let res: Response;
    try {
      res = await fetch(current, { method: "HEAD", redirect: "manual", headers: { ...headers, "accept-encoding": "identity" }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      const cause = (err as Error).name === "TimeoutError" ? `no answer within ${seconds(timeoutMs)} (HF_HUB_ETAG_TIMEOUT)` : describeError(err);
      throw new HubDownloadError(`Cannot reach the Hub for ${what} (${current}): ${cause}. Set HF_HUB_OFFLINE=1 to use the cache only.`);
    }
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get("location");
      if (!location) throw new HubDownloadError(`Cannot download ${what}: HTTP ${res.status} without a Location header from ${current}`);
      // A relative redirect stays on the Hub (renamed repository): resolve again. An absolute one is the CDN.
      if (location.startsWith("/")) {
        current = new URL(location, current).toString();
        continue;
      }
    } else if (!res.ok) {
      throw statusError(res.status, res.headers.get("x-error-code"), what, current, hasToken);
    } else if (isHtmlInsteadOf(res, filename)) {
      throw notAHub(what, current, "it answers with an HTML page");
    }
    const linkedEtag = stripEtag(res.headers.get("x-linked-etag"));
    const etag = linkedEtag ?? stripEtag(res.headers.get("etag"));
    if (!res.headers.get("x-repo-commit")) throw notAHub(what, current, "no X-Repo-Commit header");
    if (!etag) throw notAHub(what, current, "no ETag header");
    const sizeHeader = res.headers.get("x-linked-size") ?? (res.status < 300 ? res.headers.get("content-length") : null);
    const downloadUrl = res.status < 300 ? current : new URL(res.headers.get("location")!, current).toString();
    return {
      downloadUrl,
      etag,
      size: sizeHeader !== null ? Number(sizeHeader) : undefined,
      sha256: /^[0-9a-f]{64}$/.test(etag) ? etag : undefined,
      gitSha1: linkedEtag === undefined && /^[0-9a-f]{40}$/.test(etag) ? etag : undefined,
    };
  }
  throw new HubDownloadError(`Cannot download ${what}: too many redirects from ${url}`);
}

/** fetch reports network failures as "fetch failed" with the reason in `cause`. */
function describeError(err: unknown): string {
  const e = err as Error & { cause?: { message?: string; code?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return cause ? `${e.message} (${cause})` : e.message;
}

/** sha256 of the file, or git's blob sha1 (`sha1("blob <size>\0" + content)`, the Hub's ETag of files kept in git). */
async function digestOfFile(path: string, kind: "sha256" | "git-sha1"): Promise<string> {
  const hash = createHash(kind === "sha256" ? "sha256" : "sha1");
  if (kind === "git-sha1") hash.update(`blob ${(await stat(path)).size}\0`);
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

/** sha256 of the file as the server sends it now: a second, complete GET, hashed as it arrives and not stored. */
async function remoteSha256(remote: RemoteFile, ctx: FetchContext): Promise<string> {
  const watch = stallWatch(ctx.timeoutMs);
  try {
    const res = await fetch(remote.downloadUrl, { headers: ctx.headers, signal: watch.signal });
    if (!res.ok || !res.body) throw statusError(res.status, res.headers.get("x-error-code"), ctx.what, remote.downloadUrl, ctx.hasToken);
    const hash = createHash("sha256");
    for await (const chunk of Readable.fromWeb(res.body as WebReadableStream<Uint8Array>)) {
      watch.arm();
      hash.update(chunk as Buffer);
    }
    return hash.digest("hex");
  } catch (err) {
    if (err instanceof HubDownloadError) throw err;
    throw new HubDownloadError(`Cannot download ${ctx.what} a second time to check it: ${watch.stalled ? `the server sent nothing for ${seconds(ctx.timeoutMs)}` : describeError(err)}`);
  } finally {
    watch.stop();
  }
}

/** An AbortController that fires when `arm` has not been called for `ms`: a server that stops sending. */
function stallWatch(ms: number) {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const watch = {
    signal: controller.signal,
    stalled: false,
    arm() {
      clearTimeout(timer);
      timer = setTimeout(() => {
        watch.stalled = true;
        controller.abort();
      }, ms);
    },
    stop() {
      clearTimeout(timer);
    },
  };
  watch.arm();
  return watch;
}

interface FetchContext {
  headers: Record<string, string>;
  what: string;
  filename: string;
  showProgress: boolean;
  hasToken: boolean;
  timeoutMs: number;
}

/** One GET onto the `.incomplete` file, from its current size on (a Range request) when there is one. */
async function fetchInto(remote: RemoteFile, partial: string, ctx: FetchContext): Promise<void> {
  let offset = (await fileSize(partial)) ?? 0;
  if (remote.size !== undefined && offset > remote.size) {
    await rm(partial, { force: true });
    offset = 0;
  }
  if (remote.size !== undefined && offset === remote.size) return;
  const watch = stallWatch(ctx.timeoutMs);
  const stalled = () => new Error(`the server sent nothing for ${seconds(ctx.timeoutMs)} (HF_HUB_DOWNLOAD_TIMEOUT)`);
  let res: Response;
  try {
    res = await fetch(remote.downloadUrl, { headers: offset > 0 ? { ...ctx.headers, range: `bytes=${offset}-` } : ctx.headers, signal: watch.signal });
  } catch (err) {
    watch.stop();
    throw watch.stalled ? stalled() : err;
  }
  if (res.status === 416) {
    watch.stop();
    await rm(partial, { force: true });
    throw new Error("range not satisfiable, restarting");
  }
  if (!res.ok || isHtmlInsteadOf(res, ctx.filename)) {
    watch.stop();
    await res.body?.cancel();
    if (!res.ok) throw statusError(res.status, res.headers.get("x-error-code"), ctx.what, remote.downloadUrl, ctx.hasToken);
    throw notAHub(ctx.what, remote.downloadUrl, "it answers with an HTML page");
  }
  const append = offset > 0 && res.status === 206;
  const start = append ? offset : 0;
  const bar = byteProgress(ctx.what, remote.size, start, ctx.showProgress);
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      watch.arm();
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
  } catch (err) {
    throw watch.stalled ? stalled() : err;
  } finally {
    watch.stop();
    sink.destroy();
    await closed;
    bar.stop();
  }
}

/**
 * Downloads one file of a Hub repository into the cache and returns its local path. A cached file is returned
 * without any request. Cut connections and servers that stop sending (HF_HUB_DOWNLOAD_TIMEOUT) are retried with
 * Range requests onto `<file>.incomplete`, each retry said on `log`; the result is checked against the size and the
 * digest the Hub announces (sha256 for LFS files, the git blob sha1 otherwise) and only then renamed into place. A
 * file whose ETag is no such digest (some mirrors) cannot be checked that way: it is refused unless allowed
 * (allowUnverified, OPENR1_HUB_ALLOW_UNVERIFIED=1), and then it must have the size the server announces and the
 * same sha256 as a second download of it.
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
  const remote = await resolveRemote(url, authHeaders, what, req.filename, hasToken, settings.etagTimeoutMs);
  const expected = remote.sha256 !== undefined ? { kind: "sha256" as const, digest: remote.sha256 } : remote.gitSha1 !== undefined ? { kind: "git-sha1" as const, digest: remote.gitSha1 } : undefined;
  if (!expected && !settings.allowUnverified) {
    throw new HubDownloadError(
      `Cannot verify ${what}: ${url} announces the ETag "${remote.etag}", which is neither a sha256 nor a git blob sha1, so a wrong or corrupt ` +
        `file could not be told from the right one; nothing was downloaded. If you trust this server, set OPENR1_HUB_ALLOW_UNVERIFIED=1 ` +
        `(allowUnverified: true): the file must then have the size the server announces and match a second download of it.`,
    );
  }
  if (!expected && remote.size === undefined) {
    throw new HubDownloadError(`Cannot verify ${what}: ${url} announces neither a content hash (ETag "${remote.etag}") nor a size; nothing was downloaded.`);
  }
  // Never send the token to a CDN on another host.
  const sameOrigin = new URL(remote.downloadUrl).origin === new URL(settings.endpoint).origin;
  const getHeaders = sameOrigin ? authHeaders : {};

  await mkdir(dirname(dest), { recursive: true });
  return withFileLock(`${dest}.lock`, async () => {
    // Another process may have finished it while this one waited for the lock.
    if ((await fileSize(dest)) !== undefined) return dest;
    const partial = `${dest}.incomplete`;
    const ctx: FetchContext = {
      headers: getHeaders,
      what,
      filename: req.filename,
      showProgress: req.progress ?? process.stderr.isTTY === true,
      hasToken,
      timeoutMs: settings.downloadTimeoutMs,
    };
    const retries = req.retries ?? 5;
    const log = req.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    for (let attempt = 0; ; attempt++) {
      try {
        await fetchInto(remote, partial, ctx);
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
        const delayMs = (attempt + 1) * (req.retryDelayMs ?? 1000);
        log(`Retrying ${what} in ${seconds(delayMs)} (attempt ${attempt + 2} of ${retries + 1}): ${describeError(err)}`);
        await sleep(delayMs);
      }
    }
    if (expected) {
      const actual = await digestOfFile(partial, expected.kind);
      if (actual !== expected.digest) {
        await rm(partial, { force: true });
        throw new HubDownloadError(
          `Checksum mismatch for ${what}: ${expected.kind} ${actual}, the Hub announced ${expected.digest}. The corrupt download was removed; run again.`,
        );
      }
    } else {
      const [first, second] = [await digestOfFile(partial, "sha256"), await remoteSha256(remote, ctx)];
      if (first !== second) {
        await rm(partial, { force: true });
        throw new HubDownloadError(
          `Two downloads of ${what} differ (sha256 ${first} and ${second}) and the server announces no content hash (ETag "${remote.etag}"): ` +
            `the server does not serve one file; the download was removed and nothing was cached.`,
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
