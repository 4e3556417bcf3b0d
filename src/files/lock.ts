import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { link, open, rename, rm, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Who holds a lock, as written into the lock file (JSON): enough to tell the live owner from a process that ended,
 * from a later process that got the same pid (a container's PID 1 after a restart) and from a machine that rebooted.
 */
export interface LockOwner {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks after boot (Linux). */
  startTime?: number;
  /** /proc/sys/kernel/random/boot_id: which boot of the machine the process ran in (Linux). */
  bootId?: string;
  host: string;
  /** Random: this acquisition of the lock, so that only its holder releases it. */
  token: string;
  /** When the lock was taken (ISO time). */
  since: string;
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat (after the command name in parentheses, which may hold spaces). */
export function processStartTime(pid: number): number | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const value = Number(fields[22 - 3]);
  return Number.isFinite(value) ? value : undefined;
}

const bootId = readProc("/proc/sys/kernel/random/boot_id")?.trim() || undefined;
const self = { pid: process.pid, startTime: processStartTime(process.pid), bootId, host: hostname() };
/** Tokens of the locks this process holds now: a lock naming this pid with another token is not this process's. */
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A lock file's owner; `undefined` for an empty or unreadable one. A bare pid is the format before owners were recorded. */
function parseOwner(text: string): LockOwner | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed), host: self.host, token: "", since: "" };
  try {
    const o = JSON.parse(trimmed) as LockOwner;
    return Number.isInteger(o.pid) && o.pid > 0 && typeof o.host === "string" ? o : undefined;
  } catch {
    return undefined;
  }
}

type Verdict = { stale: false; checked: boolean } | { stale: true; why: string };

/** Whether the lock's owner still runs; `checked: false` when that cannot be told from here (another host, a bare pid). */
function judge(owner: LockOwner | undefined): Verdict {
  if (!owner) return { stale: true, why: "the lock file is empty or unreadable (its writer was cut short, e.g. by a full disk)" };
  if (owner.host !== self.host) return { stale: false, checked: false };
  if (owner.bootId && self.bootId && owner.bootId !== self.bootId) return { stale: true, why: `process ${owner.pid} ran before this machine last started` };
  if (owner.pid === self.pid) {
    if (held.has(owner.token)) return { stale: false, checked: true };
    return { stale: true, why: `it names this process's pid ${owner.pid} but not this process (an earlier process with the same pid, e.g. a container's PID 1)` };
  }
  if (!alive(owner.pid)) return { stale: true, why: `process ${owner.pid} has ended` };
  if (owner.startTime !== undefined) {
    const now = processStartTime(owner.pid);
    if (now !== undefined && now !== owner.startTime) return { stale: true, why: `process ${owner.pid} is now another process (started at another time)` };
    return { stale: false, checked: now !== undefined };
  }
  return { stale: false, checked: false };
}

/** The lock file's owner and inode (the inode tells the stale file from a new lock that replaced it), or null when there is none. */
async function readLock(path: string): Promise<{ owner: LockOwner | undefined; ino: number } | null> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  try {
    const { ino } = await handle.stat();
    return { owner: parseOwner(await handle.readFile("utf8")), ino };
  } finally {
    await handle.close();
  }
}

/**
 * Removes a stale lock file, unless another process replaced it with its own lock in the meantime: the file is
 * moved aside (atomic), and put back if it is no longer the stale one that was judged.
 */
async function removeStale(path: string, ino: number): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    throw err;
  }
  if ((await stat(aside)).ino !== ino) await link(aside, path).catch(() => {});
  await rm(aside, { force: true });
}

/** The live owner of a held lock, and whether it could be checked that it really is that process. */
interface Held {
  owner: LockOwner;
  checked: boolean;
}

/**
 * Takes the lock `path`: the owner record is written whole into a temporary file and hard-linked to `path` (which
 * fails when `path` exists), so a lock file is never empty or half-written, even on a full disk. A stale lock is
 * taken over (said on `log`). Returns the token of the lock taken, or the live owner.
 */
async function tryLock(path: string, log: (line: string) => void): Promise<{ token: string } | Held> {
  const token = randomBytes(8).toString("hex");
  const me: LockOwner = { ...self, token, since: new Date().toISOString() };
  const tmp = `${path}.${process.pid}-${token}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(me)}\n`);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new Error(`Cannot create the lock file ${path}: ${(err as Error).message}`);
  }
  try {
    for (;;) {
      try {
        await link(tmp, path);
        held.add(token);
        return { token };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw new Error(`Cannot create the lock file ${path}: ${(err as Error).message}`);
      }
      const current = await readLock(path);
      if (!current) continue;
      const verdict = judge(current.owner);
      if (!verdict.stale) return { owner: current.owner!, checked: verdict.checked };
      log(`Taking over the stale lock ${path}: ${verdict.why}.`);
      await removeStale(path, current.ino);
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

async function holding<T>(path: string, token: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    held.delete(token);
    // Only this acquisition's own lock file is removed, never one another process put there.
    if ((await readLock(path).catch(() => null))?.owner?.token === token) await rm(path, { force: true });
  }
}

const warn = (line: string) => console.error(line);

/**
 * Runs `body` holding `<path>` as a lock file, so that two processes downloading the same file take turns instead
 * of writing one `.incomplete` together. A stale lock (see `withExclusiveLock`) is taken over.
 */
export async function withFileLock<T>(path: string, body: () => Promise<T>, pollMs = 200, log = warn): Promise<T> {
  for (;;) {
    const got = await tryLock(path, log);
    if ("token" in got) return holding(path, got.token, body);
    await sleep(pollMs);
  }
}

/** The refusal for a lock held by `owner`: who, since when, and — where it cannot be checked — how to take it over. */
function inUse(what: string, path: string, { owner, checked }: Held): Error {
  const where = owner.host !== self.host ? ` on host ${owner.host}` : "";
  const since = owner.since ? ` since ${owner.since}` : "";
  const takeOver = checked ? "" : `; this cannot be checked from here: if that process has ended, delete ${path} and run again`;
  return new Error(`${what} is in use by process ${owner.pid}${where}${since} (lock ${path}): wait for it to finish or stop it${takeOver}`);
}

/**
 * Runs `body` holding `<path>` as a lock file, refusing at once when another live process holds it (`what` names
 * the resource in the error): two writers of one run or checkpoint folder would destroy each other's files. The
 * lock records its owner (pid, process start time, boot id, host); it is stale, and taken over with a line on
 * `log`, when it is empty or unreadable, when its process has ended or the pid now belongs to another process (its
 * start time differs, or it is this process's own pid), or when the machine has restarted since. A lock from
 * another host cannot be checked and is refused, naming the file to delete once that process has ended.
 */
export async function withExclusiveLock<T>(path: string, what: string, body: () => Promise<T>, log = warn): Promise<T> {
  const got = await tryLock(path, log);
  if (!("token" in got)) throw inUse(what, path, got);
  return holding(path, got.token, body);
}
