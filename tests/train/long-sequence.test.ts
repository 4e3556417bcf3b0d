// The `full` profile's sequence length runs: LoRA training through the trainer at the profile's maxSeqLength (4,096
// tokens) with the profile's LoRA settings, on a model of the real shape's depth-independent parts
// made small (hidden 64, grouped-query heads, 2 layers) so it takes seconds. Attention then runs in tiles of query rows
// (no [heads, L, L] tensor); the loss on one repeated batch must fall and the tensors stay flat from step to step.
// The memory it takes at the 0.5B shape is measured by `npm run bench` (README's table).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { attentionTileRows } from "../../src/model/attention.js";
import { LoraModel } from "../../src/model/lora.js";
import { randomQwen2Model } from "../../src/model/random.js";
import { profiles } from "../../src/pipeline/config.js";
import { train } from "../../src/train/index.js";

await selectBackend();

const full = profiles.full;

for (const seq of [full.train.maxSeqLength]) {
  test(`LoRA training at 1 × ${seq} tokens (the full profile's length): attention in tiles, loss falls, tensors flat`, async () => {
    const base = randomQwen2Model({ hidden: 64, intermediate: 128, layers: 2, heads: 4, kvHeads: 2, vocab: 512, seed: 9 });
    const tile = attentionTileRows(1, 4, seq, base.execution.attentionTileBytes);
    assert.ok(tile < seq / 4, `attention runs in several tiles (${tile} rows each)`);
    const lora = LoraModel.create(base, { r: full.lora.r, alpha: full.lora.alpha, dropout: full.lora.dropout, targetModules: full.lora.targetModules }, 1);
    let s = 7;
    const ids = Array.from({ length: seq }, () => (s = (s * 1103515245 + 12345) % 2 ** 31) % 511);
    const example = { id: "long", inputIds: ids, labels: ids.map((t, i) => (i < 64 ? -100 : t)), promptLength: 64, truncated: false };
    const dir = mkdtempSync(join(tmpdir(), "openr1-long-"));
    const counts: number[] = [];
    try {
      const res = await train({
        model: lora, train: [example], padTokenId: 511, callbacks: [{ onStepEnd: () => void counts.push(tf.memory().numTensors) }],
        config: { outputDir: dir, batchSize: 1, gradientAccumulation: 1, maxSteps: 3, learningRate: 1e-2, warmupRatio: 0, saveEvery: 0, logEvery: 1000, maxGradNorm: full.train.maxGradNorm },
      });
      const losses = res.steps.map((r) => r.loss);
      assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
      assert.ok(losses[2]! < losses[0]!, `loss falls: ${losses.join(" → ")}`);
      assert.equal(res.steps[0]!.numInputTokens, seq);
      assert.equal(new Set(counts).size, 1, `numTensors per step: ${counts.join(",")}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      lora.dispose();
      base.dispose();
    }
  });
}
