import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const run = (code: string) => spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { cwd: ROOT, encoding: "utf8" });

test("in a command a first Ctrl-C stops the work after the current step, a second one quits at once with exit code 130", () => {
  const r = run(`
    import { interruptController } from "./src/train/interrupt.ts";
    const i = interruptController({ what: "the current step" });
    process.kill(process.pid, "SIGINT");
    await new Promise((r) => setTimeout(r, 50));
    console.log("aborted", i.signal.aborted);
    process.kill(process.pid, "SIGINT");
    await new Promise((r) => setTimeout(r, 50));
    console.log("still running");`);
  assert.equal(r.status, 130);
  assert.match(r.stdout, /aborted true/);
  assert.doesNotMatch(r.stdout, /still running/);
  assert.match(r.stderr, /SIGINT: stopping after the current step, keeping what is done \(Ctrl-C again to quit now\)…/);
  assert.match(r.stderr, /SIGINT again: quitting now/);
});

// As tslab runs a cell (node_modules/tslab/dist/executor.js, main.js): its own SIGINT listener ends the running cell
// at once, and the cell's synchronous part runs under vm's breakOnSigint. The real kernel is in tests/notebooks.
test("interruptible, in a cell run the way tslab runs it: the interrupt stops the work, the cell ends normally with its result, the kernel lives and gets its own listener back", () => {
  const r = run(`
    import vm from "node:vm";
    import { interruptible } from "./src/train/interrupt.ts";
    let cellInterrupted = 0;
    process.on("SIGINT", () => { cellInterrupted++; });
    globalThis.interruptible = interruptible;
    const cell = vm.runInThisContext(\`(async () => interruptible(async (signal) => {
      let steps = 0;
      while (!signal.aborted) { steps++; await new Promise((r) => setTimeout(r, 20)); if (steps === 5) process.kill(process.pid, "SIGINT"); }
      return steps;
    }))()\`, { breakOnSigint: true });
    console.log("result", await cell, "tslab saw", cellInterrupted);
    process.kill(process.pid, "SIGINT");
    await new Promise((r) => setTimeout(r, 50));
    console.log("after the cell, tslab saw", cellInterrupted, "listeners", process.listenerCount("SIGINT"));`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /result (5|6) tslab saw 0\nafter the cell, tslab saw 1 listeners 1/);
  assert.match(r.stderr, /Interrupt: stopping after the current step, keeping what is done…/);
});

test("interruptible: a second interrupt does not kill the kernel, it repeats that the work stops after the current step", () => {
  const r = run(`
    import { interruptible } from "./src/train/interrupt.ts";
    process.on("SIGINT", () => {});
    const steps = await interruptible(async (signal) => {
      await new Promise((r) => setTimeout(r, 20));
      process.kill(process.pid, "SIGINT");
      await new Promise((r) => setTimeout(r, 20));
      process.kill(process.pid, "SIGINT");
      await new Promise((r) => setTimeout(r, 20));
      return signal.aborted;
    });
    console.log("aborted", steps);`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /aborted true/);
  assert.match(r.stderr, /Interrupt again: still stopping after the current step; the kernel stays up\./);
});
