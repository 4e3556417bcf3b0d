/** A download that failed for a reason the user can act on; the message names the file and the cause. */
export class HubDownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HubDownloadError";
  }
}

/** The Hub's answer to a failed request, as a message naming the file, the URL and what to do. */
export function statusError(status: number, errorCode: string | null, what: string, url: string, hasToken: boolean): HubDownloadError {
  if (status === 401 || status === 403) {
    const hint = hasToken
      ? "the token in HF_TOKEN (or the token option) was refused or has no access to this repository"
      : "the repository is private, gated or does not exist; set HF_TOKEN (or pass token) if you have access";
    return new HubDownloadError(`Cannot download ${what}: HTTP ${status}${errorCode ? ` (${errorCode})` : ""} — ${hint}. URL: ${url}`);
  }
  if (status === 404) {
    const cause =
      errorCode === "EntryNotFound"
        ? "the file does not exist at this revision"
        : errorCode === "RevisionNotFound"
          ? "the revision does not exist"
          : errorCode === "RepoNotFound"
            ? "the repository does not exist"
            : "the repository, revision or file does not exist";
    return new HubDownloadError(`Cannot download ${what}: HTTP 404 — ${cause}. URL: ${url}`);
  }
  return new HubDownloadError(`Cannot download ${what}: HTTP ${status} from ${url}`);
}

