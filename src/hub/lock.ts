import { open, readFile, rm } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Runs `body` holding `<path>` as a lock file (holding the owner's pid), so that two processes downloading the same
 * file take turns instead of writing one `.incomplete` together. A lock whose owner died is taken over.
 */
export async function withFileLock<T>(path: string, body: () => Promise<T>, pollMs = 200): Promise<T> {
  for (;;) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (Number.isInteger(owner) && owner > 0 && !alive(owner)) await rm(path, { force: true });
      else await sleep(pollMs);
    }
  }
  try {
    return await body();
  } finally {
    await rm(path, { force: true });
  }
}
