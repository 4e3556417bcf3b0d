import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Runs `code` in a child process (as a notebook kernel or a command would), sends it SIGINT twice, returns what it printed. */
function twoInterrupts(quitOnSecond: boolean) {
  const code = `
    import { interruptController } from "./src/train/interrupt.ts";
    const i = interruptController({ what: "the current step", quitOnSecond: ${quitOnSecond} });
    process.kill(process.pid, "SIGINT");
    await new Promise((r) => setTimeout(r, 50));
    console.log("aborted", i.signal.aborted);
    process.kill(process.pid, "SIGINT");
    await new Promise((r) => setTimeout(r, 50));
    i.dispose();
    console.log("still running");`;
  return spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { cwd: ROOT, encoding: "utf8" });
}

test("in a notebook kernel an interrupt stops the work after the current step, and a second one does not kill the kernel", () => {
  const r = twoInterrupts(false);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /aborted true\nstill running/);
  assert.match(r.stderr, /SIGINT: stopping after the current step, keeping what is done…/);
});

test("in a command a second Ctrl-C quits at once with exit code 130", () => {
  const r = twoInterrupts(true);
  assert.equal(r.status, 130);
  assert.match(r.stdout, /aborted true/);
  assert.doesNotMatch(r.stdout, /still running/);
  assert.match(r.stderr, /SIGINT again: quitting now/);
});
