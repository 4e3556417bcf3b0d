export { writeFileAtomic, writeJsonAtomic } from "./atomic.js";
export { withExclusiveLock, withFileLock } from "./lock.js";
export { readJsonFile } from "./read.js";
