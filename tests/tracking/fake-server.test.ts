import { test } from "node:test";
import assert from "node:assert/strict";
import wandb from "@wandb/sdk";
import { startFakeWandb } from "./fake-wandb-server.js";

// The fake server is only worth its assertions if it speaks what the real client speaks: run @wandb/sdk
// 0.5.1 itself against it (happy path only; the SDK does not survive failures, see the README's tracking section).
test("the fake W&B server takes a whole run from @wandb/sdk 0.5.1", { timeout: 20_000 }, async () => {
  const apiKey = "f".repeat(40);
  const fake = await startFakeWandb({ apiKey });
  try {
    const run = await wandb.init({ project: "sdk-check", config: { lr: 0.1 }, settings: { apiKey, baseUrl: fake.url, silent: true } as never });
    wandb.log({ "train/loss": 1.5 }, 1);
    wandb.log({ "train/loss": 0.5 }, 2);
    await wandb.finish();
    const stored = fake.run("fake-entity", "sdk-check", run.id)!;
    assert.deepEqual(fake.requests.slice(0, 2).map((r) => r.operation), ["Viewer", "UpsertBucket"]);
    assert.equal(stored.config.lr, 0.1);
    assert.deepEqual([...stored.history.entries()].map(([offset, r]) => [offset, r._step, r["train/loss"]]), [[0, 1, 1.5], [1, 2, 0.5]]);
    assert.equal(stored.summary["train/loss"], 0.5);
    assert.deepEqual(stored.complete, { exitcode: 0 });
  } finally {
    await fake.close();
  }
});
