import { renameSync, rmSync, writeFileSync } from "node:fs";

/**
 * Writes a file whole or not at all (temp file + rename), so a crash never leaves half a file; a failed write (a full
 * disk) removes its temp file too, leaving the folder as it was.
 */
export function writeFileAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}
