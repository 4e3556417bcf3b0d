import { test, mock } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import fsp from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { withExclusiveLock, withFileLock } from "../../src/files/lock.js";

/** Field 22 of /proc/<pid>/stat read the plain way (the processes here have no space in their names). */
const startTimeOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[21]);
const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();

async function inTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "openr1-lock-"));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const owner = (o: Record<string, unknown>) => JSON.stringify({ host: hostname(), bootId, token: "earlier", since: "2026-01-01T00:00:00.000Z", ...o });

/** Takes the lock, records what the body saw of it, and the lines said on `log`. */
async function take(path: string) {
  const lines: string[] = [];
  let content = "";
  await withExclusiveLock(path, "The run", async () => void (content = readFileSync(path, "utf8")), (l) => lines.push(l));
  return { lines, content };
}

test("the lock names its owner: pid, the process's start time (/proc/<pid>/stat field 22), boot id and host", () =>
  inTempDir(async (dir) => {
    const lock = join(dir, "run.lock");
    const { content } = await take(lock);
    const o = JSON.parse(content);
    assert.equal(o.pid, process.pid);
    assert.equal(o.startTime, startTimeOf(process.pid));
    assert.equal(o.bootId, bootId);
    assert.equal(o.host, hostname());
    assert.deepEqual(readdirSync(dir), [], "released, and no temporary file left");
  }));

test("a lock naming PID 1 with another start time (a container's entrypoint, kill -9'd, container restarted) is taken over", () =>
  inTempDir(async (dir) => {
    const lock = join(dir, "run.lock");
    writeFileSync(lock, owner({ pid: 1, startTime: startTimeOf(1) + 1000 }));
    const { lines } = await take(lock);
    assert.match(lines.join("\n"), /Taking over the stale lock .*run\.lock: process 1 is now another process/);
  }));

test("a lock naming this process's own pid that is not this process (PID 1 again after a restart) is taken over", () =>
  inTempDir(async (dir) => {
    const lock = join(dir, "run.lock");
    for (const content of [owner({ pid: process.pid, startTime: startTimeOf(process.pid) }), String(process.pid)]) {
      writeFileSync(lock, content);
      const { lines } = await take(lock);
      assert.match(lines.join("\n"), new RegExp(`names this process's pid ${process.pid} but not this process`));
    }
  }));

test("a lock from before the machine restarted, or of a process that ended, is taken over", () =>
  inTempDir(async (dir) => {
    const lock = join(dir, "run.lock");
    writeFileSync(lock, owner({ pid: 1, startTime: startTimeOf(1), bootId: "00000000-0000-0000-0000-000000000000" }));
    assert.match((await take(lock)).lines.join("\n"), /process 1 ran before this machine last started/);
    const ended = spawn("true");
    await new Promise((r) => ended.once("exit", r));
    writeFileSync(lock, owner({ pid: ended.pid, startTime: 1 }));
    assert.match((await take(lock)).lines.join("\n"), new RegExp(`process ${ended.pid} has ended`));
  }));

test("an empty lock (a writer cut short by a full disk) is taken over", () =>
  inTempDir(async (dir) => {
    const lock = join(dir, "run.lock");
    writeFileSync(lock, "");
    assert.match((await take(lock)).lines.join("\n"), /the lock file is empty or unreadable/);
  }));

test("a live owner is refused at once, named with the time it took the lock; a second taker in the same process too", () =>
  inTempDir(async (dir) => {
    const lock = join(dir, "run.lock");
    const other = spawn("sleep", ["30"]);
    try {
      await new Promise((r) => other.once("spawn", r));
      writeFileSync(lock, owner({ pid: other.pid, startTime: startTimeOf(other.pid!) }));
      await assert.rejects(take(lock), (e: Error) => {
        assert.match(e.message, new RegExp(`The run is in use by process ${other.pid} since 2026-01-01T00:00:00.000Z \\(lock .*run\\.lock\\): wait for it to finish or stop it$`));
        return true;
      });
      // A bare pid (the format before owners were recorded) cannot be checked beyond "alive": the way out is named.
      writeFileSync(lock, String(other.pid));
      await assert.rejects(take(lock), /in use by process \d+ .*cannot be checked from here: if that process has ended, delete .*run\.lock and run again/);
      assert.equal(readFileSync(lock, "utf8"), String(other.pid), "a refused taker leaves the owner's lock alone");
    } finally {
      other.kill();
    }
    rmSync(lock);
    await withExclusiveLock(lock, "The run", () => assert.rejects(withExclusiveLock(lock, "The run", async () => {}), new RegExp(`in use by process ${process.pid}`)));
  }));

test("a lock from another host cannot be checked: refused, naming the host and the file to delete once it has ended", () =>
  inTempDir(async (dir) => {
    const lock = join(dir, "run.lock");
    writeFileSync(lock, owner({ pid: 4242, startTime: 7, host: "worker-7" }));
    await assert.rejects(take(lock), /in use by process 4242 on host worker-7 .*if that process has ended, delete .*run\.lock and run again/);
  }));

test("a full disk when taking a lock fails naming the lock, and leaves no file at all (never a 0-byte lock)", () =>
  inTempDir(async (dir) => {
    const lock = join(dir, "run.lock");
    const writeFile = fsp.writeFile;
    // As a full disk does: the file is created, the write fails.
    mock.method(fsp, "writeFile", async (path: string) => {
      await writeFile(path, "");
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    });
    syncBuiltinESMExports();
    try {
      await assert.rejects(take(lock), /Cannot create the lock file .*run\.lock: ENOSPC: no space left on device/);
    } finally {
      mock.restoreAll();
      syncBuiltinESMExports();
    }
    assert.deepEqual(readdirSync(dir), []);
    await take(lock);
  }));

test("a waiting lock (downloads) takes turns within a process, and takes over PID 1's stale lock", () =>
  inTempDir(async (dir) => {
    const lock = join(dir, "file.lock");
    const order: string[] = [];
    let aHolds!: () => void;
    const held = new Promise<void>((r) => (aHolds = r));
    const a = withFileLock(lock, async () => {
      order.push("a in");
      aHolds();
      await new Promise((r) => setTimeout(r, 100));
      order.push("a out");
    }, 10);
    // b asks while a holds the lock (asked at once, either could have taken it first).
    await held;
    const b = withFileLock(lock, async () => void order.push("b"), 10);
    await Promise.all([a, b]);
    assert.deepEqual(order, ["a in", "a out", "b"]);
    writeFileSync(lock, owner({ pid: 1, startTime: startTimeOf(1) + 1 }));
    const lines: string[] = [];
    await withFileLock(lock, async () => {}, 10, (l) => lines.push(l));
    assert.match(lines.join("\n"), /process 1 is now another process/);
    assert.deepEqual(readdirSync(dir), []);
  }));

test("releasing removes only this acquisition's lock, never one that replaced it", () =>
  inTempDir(async (dir) => {
    const lock = join(dir, "run.lock");
    const theirs = owner({ pid: 4242, host: "worker-7" });
    await withExclusiveLock(lock, "The run", async () => void writeFileSync(lock, theirs), () => {});
    assert.equal(readFileSync(lock, "utf8"), theirs);
  }));
