// The fused LoRA decoder layer on ONNX Runtime against the tfjs layer (itself checked against transformers + peft
// in tests/model/lora.test.ts): loss and every adapter's gradient, with dropout, padding, grouped-query heads, a
// subset of adapted linears, the saved and the recomputing backward, and no leaked tensors; and its inference
// graph (a prefill that fills the KV cache) against the tfjs layers.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { ortAvailable } from "../../src/kernels/index.js";
import { generate } from "../../src/model/generate.js";
import { LoraModel } from "../../src/model/lora.js";
import { KVCache } from "../../src/model/qwen2.js";
import { randomQwen2Model } from "../../src/model/random.js";
import type { LinearName } from "../../src/model/weights.js";

before(async () => {
  await selectBackend();
});

const ids = [
  Array.from({ length: 20 }, (_, i) => (i * 37 + 3) % 499),
  Array.from({ length: 20 }, (_, i) => (i * 11 + 5) % 499),
];
const batch = {
  inputIds: ids,
  labels: ids.map((r) => r.map((t, i) => (i < 4 ? -100 : t))),
  // the second row is left-padded by three tokens
  attentionMask: ids.map((r, b) => r.map((_, t) => (b === 1 && t < 3 ? 0 : 1))),
};

/** Loss and gradients of every adapter variable, with the fused layer on or off (and attention in tiles of `tile` rows). */
function lossAndGrads(lora: LoraModel, fused: boolean, opts: { training: boolean; recompute?: boolean; budgetMb?: number; tile?: number }) {
  const saved = { ...lora.base.execution };
  lora.base.execution.fusedLayer = fused;
  lora.base.execution.attentionTileRows = opts.tile;
  if (opts.budgetMb !== undefined) lora.base.execution.activationBytes = opts.budgetMb * 2 ** 20;
  try {
    const vars = [...lora.trainableVariables().values()];
    const { value, grads } = tf.variableGrads(() => lora.base.sumLoss(batch, { training: opts.training, dropoutSeed: 11, recompute: opts.recompute }).sum, vars);
    const out = { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
    tf.dispose([value, ...Object.values(grads)]);
    return out;
  } finally {
    lora.base.execution = saved;
  }
}

for (const c of [
  { name: "all seven linears, dropout 0.1, activations kept", targets: undefined, dropout: 0.1, training: true, recompute: false },
  { name: "all seven linears, dropout 0.1, recomputed in the backward", targets: undefined, dropout: 0.1, training: true, recompute: true },
  // 0.27 MiB: both layers keep their activations (90 KiB each), and what is left the first layer's masks (75 KiB): the second draws them again
  { name: "all seven linears, dropout 0.1, masks drawn again for the second layer", targets: undefined, dropout: 0.1, training: true, recompute: false, budgetMb: 0.27 },
  { name: "q and v only, no dropout", targets: ["q_proj", "v_proj"] as LinearName[], dropout: 0, training: true, recompute: false },
  { name: "evaluation (dropout off)", targets: ["k_proj", "o_proj", "down_proj"] as LinearName[], dropout: 0.2, training: false, recompute: false },
  // the tiled graphs (an ONNX Loop over tiles of query rows) against the tfjs layer in one tile: 20 rows a sequence
  ...[1, 3, 7, 19, 21].flatMap((tile) => [
    { name: `attention in tiles of ${tile} rows, activations kept`, targets: undefined, dropout: 0.1, training: true, recompute: false, tile },
    { name: `attention in tiles of ${tile} rows, recomputed in the backward`, targets: undefined, dropout: 0.1, training: true, recompute: true, tile },
  ]),
]) {
  test(`fused LoRA layer = tfjs layer: ${c.name}`, { skip: !ortAvailable() && "onnxruntime-node is not available" }, () => {
    // 4 query heads over 2 key/value heads, head dim 16
    const base = randomQwen2Model({ hidden: 64, intermediate: 96, layers: 2, heads: 4, kvHeads: 2, vocab: 500, seed: 3 });
    const lora = LoraModel.create(base, { r: 4, alpha: 8, dropout: c.dropout, ...(c.targets ? { targetModules: c.targets } : {}) }, 5);
    // B starts at zero: give it values so every adapter changes the output
    for (const v of lora.trainableVariables().values()) v.assign(tf.tidy(() => tf.randomNormal(v.shape, 0, 0.1, "float32", v.size)));
    const ref = lossAndGrads(lora, false, { ...c, tile: undefined });
    const before = tf.memory().numTensors;
    const got = lossAndGrads(lora, true, c);
    assert.equal(tf.memory().numTensors, before, "no tensors leaked");
    assert.ok(Math.abs(got.loss - ref.loss) <= 1e-5 * Math.abs(ref.loss), `loss ${got.loss} vs ${ref.loss}`);
    ref.grads.forEach((r, i) => {
      let diff = 0, scale = 0;
      r.forEach((x, j) => {
        diff = Math.max(diff, Math.abs(got.grads[i][j] - x));
        scale = Math.max(scale, Math.abs(x));
      });
      assert.ok(scale > 0, `gradient ${i} is not zero`);
      assert.ok(diff / scale < 1e-5, `gradient ${i}: relative error ${diff / scale}`);
    });
    lora.dispose();
    base.dispose();
  });
}

test("fused prefill with a KV cache = the tfjs layers, in one tile, in tiles, in chunks: the cache's keys and values, the logits, the generated tokens", { skip: !ortAvailable() && "onnxruntime-node is not available" }, () => {
  const base = randomQwen2Model({ hidden: 64, intermediate: 96, layers: 2, heads: 4, kvHeads: 2, vocab: 500, seed: 4 });
  const lora = LoraModel.create(base, { r: 4, alpha: 8, dropout: 0.1, targetModules: ["q_proj", "k_proj", "down_proj"] }, 6);
  for (const v of lora.trainableVariables().values()) v.assign(tf.tidy(() => tf.randomNormal(v.shape, 0, 0.1, "float32", v.size)));
  // 2 × 40 prompt rows: over FEW_ROWS, so the prefill goes through the fused inference graph (and, the layers being
  // small, so do the decode steps)
  const prompts = { inputIds: batch.inputIds.map((r) => [...r, ...r]), attentionMask: batch.attentionMask.map((r) => [...r, ...r.map(() => 1)]) };
  // The prompt in one call, or in chunks (a chunked prefill: the second chunk's queries follow the cache's keys).
  const run = (fused: boolean, tile?: number, chunks = [40]) => {
    base.execution.fusedLayer = fused;
    base.execution.attentionTileRows = tile;
    try {
      const cache = new KVCache();
      const logits: Float32Array[] = [];
      let at = 0;
      for (const n of chunks) {
        const part = { inputIds: prompts.inputIds.map((r) => r.slice(at, at + n)), attentionMask: prompts.attentionMask.map((r) => r.slice(0, at + n)) };
        const l = tf.tidy(() => base.logitsFromHidden(base.hiddenStates(part, { cache })).reshape([2, n, -1]));
        logits.push(l.dataSync() as Float32Array);
        l.dispose();
        at += n;
      }
      const kv = cache.layers.map(({ k, v }) => [k.dataSync(), v.dataSync()] as const);
      // [B, L, vocab] from the chunks' [B, n, vocab]
      const V = 500, all = new Float32Array(2 * 40 * V);
      let offset = 0;
      chunks.forEach((n, c) => {
        for (let b = 0; b < 2; b++) all.set(logits[c].subarray(b * n * V, (b + 1) * n * V), (b * 40 + offset) * V);
        offset += n;
      });
      const out = { logits: all, kv, shape: cache.layers[0].k.shape };
      cache.dispose();
      return { ...out, tokens: generate(base, prompts, { maxNewTokens: 6, eosTokenIds: [] }).newTokens };
    } finally {
      base.execution.fusedLayer = true;
      base.execution.attentionTileRows = undefined;
    }
  };
  const ref = run(false);
  const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
    let diff = 0, scale = 0;
    for (let i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
      scale = Math.max(scale, Math.abs(b[i]));
    }
    assert.ok(diff / scale < 1e-5, `${what}: relative error ${diff / scale}`);
  };
  for (const [tile, chunks] of [[undefined, [40]], [6, [40]], [4, [25, 15]], [16, [1, 39]]] as const) {
    const before = tf.memory().numTensors;
    const got = run(true, tile, [...chunks]);
    const what = `tiles of ${tile ?? "all"} rows, chunks ${chunks.join(" + ")}`;
    assert.equal(tf.memory().numTensors, before, "no tensors leaked");
    assert.deepEqual(got.shape, [2, 2, 40, 16]);
    close(got.logits, ref.logits, `${what}: logits`);
    got.kv.forEach(([k, v], l) => {
      close(k, ref.kv[l][0], `${what}: layer ${l} keys`);
      close(v, ref.kv[l][1], `${what}: layer ${l} values`);
    });
    assert.deepEqual(got.tokens, ref.tokens);
  }
  lora.dispose();
  base.dispose();
});
