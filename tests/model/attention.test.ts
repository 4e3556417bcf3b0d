// Attention by tiles of query rows (src/model/attention.ts, and the fused ORT layer's graphs that do the same): against
// attention materialised the plain way (a whole [B, heads, L, T] score matrix with an additive mask, written here
// independently), forward and gradients, at lengths around the tile edges, with causal and padding masks, a KV cache's
// past keys and grouped-query heads; and the Hugging Face goldens run through tiles of 1 to 13 rows (the golden prompts
// are 12 tokens, one of them left-padded), for logits, loss, LoRA gradients and KV-cache generation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { attentionTileRows, causalAttention } from "../../src/model/attention.js";
import { generateAsync } from "../../src/model/generate.js";
import { LoraModel } from "../../src/model/lora.js";
import { keyBias } from "../../src/model/ops.js";
import { Qwen2Model } from "../../src/model/qwen2.js";
import { GOLDEN_DIR, maxDiffMasked, readGolden, readGoldenLora } from "./golden.js";

await selectBackend();

/**
 * The reference: softmax(q·kᵀ/√D + mask)·v over all T keys at once, query head h reading key/value head ⌊h/g⌋, where
 * the mask is −1e9 for padded keys and for keys after the query's position (past + i).
 */
function materialised(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: number[][]): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, H, L, D] = q.shape, kvH = k.shape[1], T = k.shape[2], g = H / kvH, past = T - L;
    const bias = new Float32Array(B * L * T);
    for (let b = 0; b < B; b++) for (let i = 0; i < L; i++) for (let j = 0; j < T; j++) {
      if (j > past + i || mask[b][j] === 0) bias[(b * L + i) * T + j] = -1e9;
    }
    const rep = (x: tf.Tensor4D) => tf.stack(Array.from({ length: H }, (_, h) => x.slice([0, Math.floor(h / g), 0, 0], [B, 1, T, D]).squeeze([1])), 1) as tf.Tensor4D;
    const scores = tf.matMul(q.reshape([B * H, L, D]), rep(k).reshape([B * H, T, D]), false, true).div(Math.sqrt(D)).reshape([B, H, L, T]);
    const p = tf.softmax(tf.add(scores, tf.tensor4d(bias, [B, 1, L, T])));
    return tf.matMul(p.reshape([B * H, L, T]), rep(v).reshape([B * H, T, D])).reshape([B, H, L, D]) as tf.Tensor4D;
  });
}

/** Largest |a − b| over the query rows that are real tokens (mask 1 at their position), relative to max |b|. */
function relDiffRealRows(a: Float32Array, b: Float32Array, shape: number[], mask: number[][]): number {
  const [B, H, L, D] = shape, past = mask[0].length - L;
  let diff = 0, scale = 0;
  for (let bb = 0; bb < B; bb++) for (let h = 0; h < H; h++) for (let i = 0; i < L; i++) {
    if (mask[bb][past + i] === 0) continue;
    for (let d = 0; d < D; d++) {
      const at = ((bb * H + h) * L + i) * D + d;
      diff = Math.max(diff, Math.abs(a[at] - b[at]));
      scale = Math.max(scale, Math.abs(b[at]));
    }
  }
  return diff / scale;
}

const TILE = 4;
for (const c of [
  { name: "one row", L: 1, past: 0, heads: 4, kvHeads: 2 },
  { name: "tile − 1 rows", L: TILE - 1, past: 0, heads: 4, kvHeads: 2 },
  { name: "tile rows", L: TILE, past: 0, heads: 4, kvHeads: 2 },
  { name: "tile + 1 rows", L: TILE + 1, past: 0, heads: 4, kvHeads: 2 },
  { name: "an odd length over several tiles, three query heads a key/value head", L: 3 * TILE + 3, past: 0, heads: 6, kvHeads: 2 },
  { name: "a KV cache's past keys before tile + 1 new rows", L: TILE + 1, past: 7, heads: 4, kvHeads: 2 },
  { name: "one new row after a past (a decode step)", L: 1, past: 9, heads: 4, kvHeads: 4 },
]) {
  test(`tiled attention = materialised attention, forward and gradients: ${c.name}`, async () => {
    const B = 2, D = 8, T = c.past + c.L;
    // row 0 left-padded by 3 (a generation batch), row 1 right-padded by 2 (a training batch)
    const mask = [
      Array.from({ length: T }, (_, j) => (j < Math.min(3, T - 1) ? 0 : 1)),
      Array.from({ length: T }, (_, j) => (T > 2 && j >= T - 2 ? 0 : 1)),
    ];
    const q = tf.randomNormal([B, c.heads, c.L, D], 0, 1, "float32", 1) as tf.Tensor4D;
    const k = tf.randomNormal([B, c.kvHeads, T, D], 0, 1, "float32", 2) as tf.Tensor4D;
    const v = tf.randomNormal([B, c.kvHeads, T, D], 0, 1, "float32", 3) as tf.Tensor4D;
    // a weighted sum of the real rows' outputs as the loss, so every gradient is checked
    const rowWeights = tf.tidy(() => {
      const w = tf.randomNormal([B, c.heads, c.L, D], 0, 1, "float32", 4);
      const real = tf.tensor4d(mask.flatMap((r) => r.slice(c.past)), [B, 1, c.L, 1]);
      return tf.mul(w, real);
    });
    const kb = keyBias(mask);
    // (asynchronous reads: the test also runs on webgpu)
    const run = async (f: (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D) => tf.Tensor4D) => {
      const out = tf.tidy(() => f(q, k, v));
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor, cc: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D, cc as tf.Tensor4D), rowWeights)))([q, k, v]);
      const res = { out: (await out.data()) as Float32Array, shape: out.shape, grads: (await Promise.all(g.map((t) => t.data()))) as Float32Array[] };
      tf.dispose([out, ...g]);
      return res;
    };
    const ref = await run((a, b, cc) => materialised(a, b, cc, mask));
    const before = tf.memory().numTensors;
    for (const tile of [1, TILE, 1000]) {
      const got = await run((a, b, cc) => causalAttention(a, b, cc, kb, tile));
      assert.deepEqual(got.shape, [B, c.heads, c.L, D]);
      assert.ok(relDiffRealRows(got.out, ref.out, got.shape, mask) < 1e-5, `tile ${tile}: output`);
      ["q", "k", "v"].forEach((name, i) => {
        let diff = 0, scale = 0;
        ref.grads[i].forEach((x, j) => {
          diff = Math.max(diff, Math.abs(got.grads[i][j] - x));
          scale = Math.max(scale, Math.abs(x));
        });
        // (dq is zero where every real query sees one real key: L = 1 and L = 3 here)
        assert.ok(diff <= 1e-5 * scale + 1e-7, `tile ${tile}: d${name} error ${diff} (largest ${scale})`);
      });
    }
    assert.equal(tf.memory().numTensors, before, "no tensors leaked");
    tf.dispose([q, k, v, rowWeights, kb]);
  });
}

test("a query whose visible keys are all padding gets the same output in every tiling", async () => {
  const mask = [[0, 0, 0, 0, 1, 1, 1]];
  const q = tf.randomNormal([1, 2, 7, 4], 0, 1, "float32", 5) as tf.Tensor4D;
  const k = tf.randomNormal([1, 2, 7, 4], 0, 1, "float32", 6) as tf.Tensor4D;
  const v = tf.randomNormal([1, 2, 7, 4], 0, 1, "float32", 7) as tf.Tensor4D;
  const kb = keyBias(mask);
  const outs: Float32Array[] = [];
  for (const tile of [1, 2, 3, 7]) {
    const o = causalAttention(q, k, v, kb, tile);
    outs.push((await o.data()) as Float32Array);
    o.dispose();
  }
  for (const o of outs) for (let i = 0; i < o.length; i++) assert.ok(Math.abs(o[i] - outs[3][i]) < 1e-6, "every row, padded ones too");
  tf.dispose([q, k, v, kb]);
});

test("attention tiles: rows from the byte budget, a multiple of 16 when that many fit, at least one", () => {
  // 0.5B shape (14 heads), 4,096 keys, 32 MiB: 146 rows -> 144
  assert.equal(attentionTileRows(1, 14, 4096, 32 * 2 ** 20), 144);
  assert.equal(attentionTileRows(1, 14, 8192, 32 * 2 ** 20), 64);
  assert.equal(attentionTileRows(2, 4, 100, 4 * 2 * 4 * 100 * 5), 5);
  assert.equal(attentionTileRows(8, 14, 32768, 2 ** 20), 1);
});

/** The golden model with attention in tiles of `rows` query rows. */
async function goldenModel(variant: string, rows: number): Promise<Qwen2Model> {
  const model = await Qwen2Model.fromDirectory(join(GOLDEN_DIR, variant, "model"));
  model.execution.attentionTileRows = rows;
  return model;
}

for (const rows of [1, 3, 5, 11, 12, 13]) {
  test(`tiny-tied in tiles of ${rows} query rows: logits, loss, peft's LoRA gradients and generate() match transformers`, async () => {
    const g = readGolden("tiny-tied");
    const gl = readGoldenLora("tiny-tied");
    const { input_ids, attention_mask, position_ids, labels } = g.inputs;
    const input = { inputIds: input_ids, attentionMask: attention_mask, positionIds: position_ids, labels };
    const model = await goldenModel("tiny-tied", rows);
    const before = tf.memory().numTensors;
    const logits = model.forward(input);
    assert.deepEqual(logits.shape, [2, 12, 256]);
    assert.ok(maxDiffMasked((await logits.array()) as number[][][], g.forward.logits, attention_mask) < 1e-4, "logits");
    logits.dispose();
    const loss = model.loss(input);
    assert.ok(Math.abs((await loss.data())[0] - g.forward.loss) < 1e-5, "loss");
    loss.dispose();

    const steps: Float32Array[][] = [];
    const out = await generateAsync(model, { inputIds: input_ids, attentionMask: attention_mask }, { maxNewTokens: 10, eosTokenIds: [], onLogits: (_, l) => steps.push(l) });
    assert.deepEqual(out.newTokens, g.generate.new_tokens);
    let maxDiff = 0;
    steps.forEach((r, s) => r.forEach((row, b) => row.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - g.generate.step_logits[s][b][i]))))));
    assert.ok(maxDiff < 1e-4, `generation step logits ${maxDiff}`);
    assert.equal(tf.memory().numTensors, before, "no tensors leaked");

    const lora = await LoraModel.load(model, join(GOLDEN_DIR, "tiny-tied", "lora", "adapter"));
    const vars = lora.trainableVariables();
    const count = labels.reduce((n, r) => n + r.slice(1).filter((t) => t !== -100).length, 0);
    for (const recompute of [false, true]) {
      const { value, grads } = tf.variableGrads(() => tf.div(model.sumLoss(input, { training: true, recompute }).sum, count) as tf.Scalar, [...vars.values()]);
      assert.ok(Math.abs((await value.data())[0] - gl.forward.loss) < 1e-5, "LoRA loss");
      for (const [name, v] of vars) {
        const got = (await grads[v.name].array()) as number[][];
        let diff = 0, scale = 0;
        gl.grads.tensors[name].forEach((row, i) => row.forEach((r, j) => {
          diff = Math.max(diff, Math.abs(got[i][j] - r));
          scale = Math.max(scale, Math.abs(r));
        }));
        assert.ok(diff / scale < 1e-4, `${name} (recompute ${recompute}): relative gradient error ${diff / scale}`);
      }
      tf.dispose([value, ...Object.values(grads)]);
    }
    lora.dispose();
    model.dispose();
  });
}
