import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

test("`openr1 pretrain` notices Ctrl-C within a second while preparing its corpus, stops there and exits 130", async () => {
  const out = mkdtempSync(join(tmpdir(), "openr1-pretrain-stop-"));
  try {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "pretrain", "--no-progress", "--output-dir", out], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let sentAt = 0;
    let noticedAfterMs = -1;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (sentAt && noticedAfterMs < 0 && /SIGINT: stopping/.test(stderr)) noticedAfterMs = performance.now() - sentAt;
    });
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      // A tenth of the documents encoded: well inside the preparation, which takes minutes.
      if (!sentAt && /corpus: [\d,]+ of [\d,]+ documents encoded/.test(stdout)) {
        sentAt = performance.now();
        child.kill("SIGINT");
      }
    });
    assert.equal(await exited, 130, `${stdout}\n${stderr}`);
    console.log(`notice ${noticedAfterMs.toFixed(0)} ms after SIGINT`);
    assert.ok(noticedAfterMs >= 0 && noticedAfterMs < 1000, `the notice came ${noticedAfterMs.toFixed(0)} ms after Ctrl-C`);
    assert.match(stdout, /Interrupted during corpus preparation at step 0\/5000; no checkpoint yet: run the same command again\./);
    assert.equal((stdout.match(/documents encoded/g) ?? []).length, 1, "it stopped at once");
    assert.deepEqual(readdirSync(out), [], "nothing was written");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
