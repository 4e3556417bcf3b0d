import { renameSync, rmSync, writeFileSync } from "node:fs";

/**
 * Writes a file whole or not at all (temp file + rename), so a crash or a full disk never leaves half a file under
 * its name; the temporary file is removed when the write fails.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // the write's own error is the one to report
    }
    throw e;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}
