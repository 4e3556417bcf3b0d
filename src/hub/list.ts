import { resolveHubSettings, type HubSettingsOptions, type RepoType } from "./config.js";
import { HubDownloadError, statusError } from "./errors.js";

export interface HubListRequest extends HubSettingsOptions {
  repoId: string;
  repoType?: RepoType;
  revision?: string;
  /** A folder of the repository ("" for the root). */
  folder: string;
}

interface TreeEntry {
  type: string;
  path: string;
}

/**
 * The file paths in a folder of a repository at a revision, from the Hub's tree API
 * (`{endpoint}/api/{datasets|models}/{repo}/tree/{revision}/{folder}`, as huggingface_hub's list_repo_tree), sorted.
 */
export async function hubListFiles(req: HubListRequest): Promise<string[]> {
  const settings = resolveHubSettings(req);
  const repoType = req.repoType ?? "model";
  const revision = req.revision ?? "main";
  const what = `the file list of ${req.folder || "/"} in ${repoType === "dataset" ? "dataset " : ""}${req.repoId}@${revision}`;
  if (settings.offline) throw new HubDownloadError(`Cannot list ${what}: offline mode is on (HF_HUB_OFFLINE or offline: true)`);
  const folder = req.folder.split("/").filter(Boolean).map(encodeURIComponent).join("/");
  let url: string | null = `${settings.endpoint}/api/${repoType}s/${req.repoId}/tree/${encodeURIComponent(revision)}${folder ? `/${folder}` : ""}`;
  const headers: Record<string, string> = settings.token ? { authorization: `Bearer ${settings.token}` } : {};
  const files: string[] = [];
  while (url) {
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(settings.etagTimeoutMs) });
    } catch (err) {
      const cause = (err as Error).name === "TimeoutError" ? `no answer within ${settings.etagTimeoutMs / 1000} s (HF_HUB_ETAG_TIMEOUT)` : (err as Error).message;
      throw new HubDownloadError(`Cannot reach the Hub to list ${what} (${url}): ${cause}. Set HF_HUB_OFFLINE=1 to use the cache only.`);
    }
    if (!res.ok) throw statusError(res.status, res.headers.get("x-error-code"), what, url, settings.token !== undefined);
    let entries: TreeEntry[];
    try {
      entries = (await res.json()) as TreeEntry[];
      if (!Array.isArray(entries)) throw new Error("not a list of files");
    } catch (err) {
      throw new HubDownloadError(
        `Cannot list ${what}: the answer from ${url} is not the Hub's file list (${(err as Error).message}); check HF_ENDPOINT`,
      );
    }
    for (const e of entries) if (e.type === "file") files.push(e.path);
    // Long listings are paginated with a Link: <…>; rel="next" header.
    url = res.headers.get("link")?.match(/<([^>]+)>;\s*rel="next"/)?.[1] ?? null;
  }
  return files.sort();
}
