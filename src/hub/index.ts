export { defaultHubCacheDir, resolveHubSettings, hubFileUrl, cachedFilePath, withCacheHint } from "./config.js";
export type { RepoType, HubSettings, HubSettingsOptions } from "./config.js";
export { HubDownloadError } from "./errors.js";
export { hubDownload, hubDownloadFiles } from "./download.js";
export type { HubFileRequest } from "./download.js";
export { hubListFiles } from "./list.js";
export type { HubListRequest } from "./list.js";
