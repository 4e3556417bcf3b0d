export { defaultHubCacheDir, resolveHubSettings, hubFileUrl, cachedFilePath } from "./config.js";
export type { RepoType, HubSettings, HubSettingsOptions } from "./config.js";
export { hubDownload, hubDownloadFiles, HubDownloadError } from "./download.js";
export type { HubFileRequest } from "./download.js";
