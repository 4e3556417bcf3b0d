import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { train } from "../../src/train/index.js";
import { createToyModel, toyExamples } from "../train/toy-model.js";
import { createTracker, readRun, WandbCallback } from "../../src/tracking/index.js";
import { startFakeWandb } from "./fake-wandb-server.js";

// The callback on the real trainer (a toy bigram model): what reaches W&B is the trainer's own log history.
test("WandbCallback on src/train's trainer: W&B rows are the trainer's logs and evaluations, at their steps", { timeout: 60_000 }, async () => {
  const apiKey = "t".repeat(40);
  const fake = await startFakeWandb({ apiKey });
  const model = createToyModel({ vocab: 16, dim: 8, seed: 3 });
  try {
    const tracker = createTracker({ runsDir: mkdtempSync(join(tmpdir(), "openr1-trainer-")), flushIntervalMs: 50, env: { WANDB_API_KEY: apiKey, WANDB_BASE_URL: fake.url } });
    const wandb = new WandbCallback(tracker, { numParameters: 16 * 8 * 2 });
    const result = await train({
      model,
      train: toyExamples(8, 16, 0),
      validation: toyExamples(3, 16, 5),
      padTokenId: 15,
      config: { outputDir: mkdtempSync(join(tmpdir(), "openr1-trainer-out-")), batchSize: 2, learningRate: 0.05, maxSteps: 6, logEvery: 2, evalEvery: 3, evalOnStart: false, seed: 1 },
      callbacks: [wandb],
    });
    assert.equal((await wandb.finish()).remote, "uploaded");
    const run = fake.run("fake-entity", "openr1-ts", tracker.id)!;
    const rows = [...run.history.values()];
    assert.deepEqual(rows.map((r) => r._step), [2, 3, 4, 6]);
    const byStep = new Map(rows.map((r) => [r._step, r]));
    for (const { step, ...logs } of result.logHistory) {
      const row = byStep.get(step)!;
      for (const [k, v] of Object.entries(logs)) {
        const name = k.startsWith("eval_") ? `eval/${k.slice(5)}` : `train/${k}`;
        assert.equal(row[name], v, `${name} at step ${step}`);
      }
      assert.equal(row["train/global_step"], step);
    }
    assert.equal(run.config.learning_rate, 0.05);
    assert.equal(run.config.logging_steps, 2);
    assert.equal(run.config["model/num_parameters"], 256);
    assert.equal(run.summary["train/global_step"], 6);
    assert.equal(typeof run.summary.train_runtime, "number");
    assert.deepEqual(readRun(tracker.runDir!).history.map((r) => r._step), [2, 3, 4, 6], "the local copy too");
  } finally {
    model.dispose();
    await fake.close();
  }
});
