import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PYTHON = "/usr/bin/python3";
const jupyter = existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import jupyter_client, nbformat"]).status === 0;
const built = existsSync(join(ROOT, "lib", "dist", "index.js"));

interface ActionResult {
  status: string;
  stdout?: string;
  stderr?: string;
  interrupted?: boolean;
  alive?: boolean;
  cell?: string;
}
interface Session {
  results: ActionResult[];
  kernel_stderr: string;
  exit_code: number | null;
}

/** Runs `actions` against a real tslab kernel started on `notebook` (tests/notebooks/kernel_session.py). */
function kernelSession(notebook: string, actions: unknown[]): Session {
  const r = spawnSync(PYTHON, [join(ROOT, "tests", "notebooks", "kernel_session.py"), notebook], {
    input: JSON.stringify(actions),
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    timeout: 1_500_000,
  });
  assert.equal(r.status, 0, `kernel_session.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Session;
}

// What the kernel holds and what is on disk at that moment: the result, the record's state, the folder's lock.
const printState = `import * as tf from "@tensorflow/tfjs";
import { existsSync, readFileSync } from "node:fs";
const record = JSON.parse(readFileSync(run.tracker.runDir + "/run.json", "utf8"));
const saved = JSON.parse(readFileSync(result.lastCheckpoint + "/trainer_state.json", "utf8"));
console.log(JSON.stringify({ status: result.status, step: result.globalStep, checkpointStep: saved.globalStep,
  runDir: run.tracker.runDir, record: [record.state, record.exitCode ?? null],
  locked: existsSync(config.outputDir + "/.lock"), tensors: tf.memory().numTensors }));`;

test(
  "Kernel → Interrupt in a real kernel: 03's training stops after the current step with a checkpoint, the kernel lives, " +
    "the record is closed and unlocked, running the cell again finishes the run, and re-running the cells adds no tensors",
  { skip: (!jupyter && "Jupyter is not installed (environment/setup.sh installs it)") || (!built && "npm run build first"), timeout: 1_800_000 },
  () => {
    // Under the checkout, so that the kernel finds this checkout's tslab and `openr1`; 03 writes to ../runs from there.
    mkdirSync(join(ROOT, "runs"), { recursive: true });
    const scratch = mkdtempSync(join(ROOT, "runs", ".kernel-test-"));
    try {
      mkdirSync(join(scratch, "notebooks"));
      const notebook = join(scratch, "notebooks", "03_train.ipynb");
      copyFileSync(join(ROOT, "notebooks", "03_train.ipynb"), notebook);
      const session = kernelSession(notebook, [
        { cells_before: "c21" },
        { code: `import * as tf from "@tensorflow/tfjs"; console.log(JSON.stringify({ tensors: tf.memory().numTensors }));` },
        // The live display shows "step N/120 · loss …": interrupt once step 90 has run, as a learner would press ■.
        { cell: "c21", interrupt_when: "step (9\\d|1[01]\\d)/120 " },
        { alive: true },
        { code: printState },
        { cell: "c25", may_fail: true },
        { cell: "c21" },
        { code: printState },
        { cells_before: "c21" },
        { code: printState },
      ]);
      const byOrder = session.results;
      const json = (r: ActionResult) => JSON.parse(r.stdout!.trim().split("\n").at(-1)!) as Record<string, unknown>;
      const firstPass = byOrder.findIndex((r) => r.cell === undefined || r.cell === null);
      assert.ok(byOrder.slice(0, firstPass).every((r) => r.status === "ok"), "the cells before training run");
      const tensorsBefore = json(byOrder[firstPass]!).tensors as number;
      const [interrupted, alive, stopped, guard, resumed, finished] = byOrder.slice(firstPass + 1, firstPass + 7);

      // The interrupt: the cell ended normally (no error reply), after saying it stops after the current step.
      assert.equal(interrupted!.interrupted, true, "the interrupt was sent");
      assert.equal(interrupted!.status, "ok", `the interrupted cell ended cleanly: ${interrupted!.stderr}`);
      assert.match(interrupted!.stderr!, /Interrupt: stopping after the current step, keeping what is done/);
      assert.match(interrupted!.stdout!, /interrupted at step \d+ of 120: checkpoint \.\.\/runs\/03_train\/checkpoint-\d+ written, record closed\. Run this cell again to go on\./);
      assert.doesNotMatch(interrupted!.stderr!, /Interrupted asynchronously/);
      assert.equal(alive!.alive, true, "the kernel is still running");

      // `result` is set and says where it stopped; the checkpoint is there, at that step.
      const state = json(stopped!);
      const step = state.step as number;
      assert.equal(state.status, "aborted");
      assert.ok(step >= 90 && step < 120, `stopped at step ${step}`);
      assert.equal(state.checkpointStep, step, "the checkpoint written is at the step it stopped after");
      assert.equal(state.locked, false, "the checkpoint folder's lock is released");
      assert.deepEqual(state.record, ["finished", 130], "the run record is closed as interrupted");
      const runDir = resolve(scratch, "notebooks", state.runDir as string);

      // The next cell says what to do instead of failing on a missing model.
      assert.equal(guard!.status, "error");
      assert.match(guard!.stderr!, /the training stopped at step \d+ of 120: run the training cell again to finish it/);

      // Running the training cell again goes on from the checkpoint, in the same record, to the end.
      assert.equal(resumed!.status, "ok", resumed!.stderr);
      assert.match(resumed!.stdout!, new RegExp(`going on from step ${step}; record: `));
      assert.match(resumed!.stdout!, /completed: step 120 of 120/);
      const done = json(finished!);
      assert.deepEqual([done.status, done.step, resolve(scratch, "notebooks", done.runDir as string)], ["completed", 120, runDir]);
      const history = readFileSync(join(runDir, "history.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, number>);
      const lossSteps = history.filter((h) => "train/loss" in h).map((h) => h._step);
      assert.deepEqual(lossSteps, Array.from({ length: 24 }, (_, i) => 5 * (i + 1)), "every logged step once, in order");
      assert.equal(done.locked, false);

      // Every cell before the training again, in the same kernel: the models they make replace the earlier ones.
      const rerun = byOrder.slice(firstPass + 7);
      assert.ok(rerun.every((r) => r.status === "ok"), "the cells run again");
      assert.equal(json(rerun.at(-1)!).tensors, tensorsBefore, "no tensors left over from the first pass");

      // A clean shutdown: the kernel exits by itself, nothing on its stderr.
      assert.equal(session.exit_code, 0, `the kernel exited with ${session.exit_code}`);
      assert.doesNotMatch(session.kernel_stderr, /Error|Socket is closed/, session.kernel_stderr);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  },
);
