import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { recoveryCommand } from "../../src/cli/train.js";
import { loadCheckpoint } from "../../src/train/checkpoint.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Runs `openr1 <args>`; its exit status and output. */
function openr1(args: string[]): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return { status: 0, stdout, stderr: "" };
  } catch (e) {
    const { status, stdout, stderr } = e as { status: number; stdout: string; stderr: string };
    return { status, stdout, stderr };
  }
}

const largestWeight = (dir: string) => [...loadCheckpoint(dir).params.values()].reduce((m, xs) => xs.reduce((a, x) => Math.max(a, Math.abs(x)), m), 0);

test("the recovery command keeps the options, resumes from the named checkpoint with a tenth of the learning rate, and accepts that change", () => {
  assert.equal(
    recoveryCommand(["train", "--lr", "2e-3", "--resume", "--output-dir", "runs/a b", "--allow-change=max-grad-norm", "--max-steps", "9"], "runs/a b/checkpoint-4", 2e-3),
    "openr1 train --output-dir 'runs/a b' --max-steps 9 --resume 'runs/a b/checkpoint-4' --lr 0.0002 --allow-change lr",
  );
  assert.equal(recoveryCommand(["train", "--lr=1e18", "--resume", "runs/x/checkpoint-9"], "runs/x/checkpoint-2", 1e18), "openr1 train --resume runs/x/checkpoint-2 --lr 100000000000000000 --allow-change lr");
});

test("`openr1 train` that goes NaN names the checkpoint whose weights are sound, and the command it advises completes", () => {
  const out = mkdtempSync(join(tmpdir(), "openr1-nan-"));
  try {
    // Warmup over 2 steps: updates 1, 2, 3 have lr 0, 5e17, 1e18; the weights update 3 leaves (~1e18) make step 4's loss NaN.
    const diverging = ["train", "--lr", "1e18", "--warmup-ratio", "0.5", "--max-steps", "4", "--save-every", "1", "--keep-checkpoints", "5", "--no-progress", "--output-dir", out];
    const first = openr1(diverging);
    assert.equal(first.status, 1);
    assert.match(first.stderr, /Training stopped at step 4: the loss or gradient norm is NaN\. No update was applied\./);
    assert.match(first.stderr, /checkpoint-3 cannot be resumed from: the step after it gives loss NaN and gradient norm NaN \(its largest weight or moment is [\d.]+e\+18\)/);
    assert.ok(largestWeight(join(out, "checkpoint-3")) > 1e17, "the checkpoint before the stop holds the diverged weights");
    const usable = join(out, "checkpoint-2");
    assert.match(first.stderr, new RegExp(`${usable} is the last checkpoint to resume from \\(finite weights and optimizer state`));

    // The old advice: the same command resumed with a lower learning rate, without accepting the change, is refused — saying how to accept it.
    const refused = openr1([...diverging, "--resume", usable, "--lr", "1e17"]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /another training setup \(learningRate 1000000000000000000 here 100000000000000000\).*--allow-change lr/);

    const advised = /To resume from it with a tenth of the learning rate:\n {2}(openr1 .*)\n/.exec(first.stderr)?.[1];
    assert.equal(advised, `openr1 ${diverging.join(" ").replace("--lr 1e18 ", "")} --resume ${usable} --lr 100000000000000000 --allow-change lr`);
    const second = openr1(advised!.split(" ").slice(1));
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /done: 4\/4 steps/);
    assert.match(second.stdout, /changed on resuming from step 2 \(recorded in the checkpoints\): \{"learningRate":1000000000000000000\} → \{"learningRate":100000000000000000\}/);
    const state = JSON.parse(readFileSync(join(out, "checkpoint-4", "trainer_state.json"), "utf8"));
    assert.deepEqual(state.changes, [{ step: 2, from: { learningRate: 1e18 }, to: { learningRate: 1e17 } }]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
