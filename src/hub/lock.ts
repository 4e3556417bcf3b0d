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

/** Creates the lock file `path` holding this pid; a lock whose owner died is taken over. Returns the live owner's pid when it is held. */
async function tryLock(path: string): Promise<number | null> {
  for (;;) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (Number.isInteger(owner) && owner > 0 && !alive(owner)) await rm(path, { force: true });
      else return owner;
    }
  }
}

async function holding<T>(path: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    await rm(path, { force: true });
  }
}

/**
 * Runs `body` holding `<path>` as a lock file (holding the owner's pid), so that two processes downloading the same
 * file take turns instead of writing one `.incomplete` together. A lock whose owner died is taken over.
 */
export async function withFileLock<T>(path: string, body: () => Promise<T>, pollMs = 200): Promise<T> {
  while ((await tryLock(path)) !== null) await sleep(pollMs);
  return holding(path, body);
}

/**
 * Runs `body` holding `<path>` as a lock file, refusing at once when another live process holds it (`what` names
 * the resource in the error): two writers of one run or checkpoint folder would destroy each other's files.
 */
export async function withExclusiveLock<T>(path: string, what: string, body: () => Promise<T>): Promise<T> {
  const owner = await tryLock(path);
  if (owner !== null) throw new Error(`${what} is in use by process ${owner} (lock ${path}): wait for it to finish or stop it`);
  return holding(path, body);
}
