/**
 * Causal grouped-query attention by tiles of query rows, as one differentiable tfjs op: the tfjs decoder layer's
 * (the fused ONNX Runtime layer builds the same in its graphs, src/kernels/lora-layer-graph.ts). No [heads, L, T]
 * tensor is made or kept: each tile of rows meets only the keys up to its last row's position (the later ones are
 * invisible to it), the tape keeps q, k and v, and the backward recomputes each tile's probabilities.
 */
import * as tf from "@tensorflow/tfjs";
import { MASK } from "../kernels/index.js";
import { flaggedMatMulFast } from "./ops.js";

/** Batched a·b with transpose flags (explicit transposes where flagged products are slow: wasm without ORT). */
function mm(a: tf.Tensor3D, b: tf.Tensor3D, transposeA = false, transposeB = false): tf.Tensor3D {
  if (flaggedMatMulFast()) return tf.matMul(a, b, transposeA, transposeB);
  return tf.matMul(transposeA ? a.transpose([0, 2, 1]) : a, transposeB ? b.transpose([0, 2, 1]) : b);
}

/** Query rows per tile so that a tile's scores [B, heads, rows, T] take at most `bytes` (at least one row). */
export function attentionTileRows(B: number, heads: number, T: number, bytes: number): number {
  const rows = Math.floor(bytes / (4 * B * heads * T));
  return rows >= 16 ? rows - (rows % 16) : Math.max(1, rows);
}

interface Tile {
  start: number;
  rows: number;
  /** Keys [0, kend) are visible to some row of the tile. */
  kend: number;
}

/**
 * softmax(q·kᵀ/√D + mask) over the tile's keys, [B, Hkv, g·rows, kend], for queries q [B, Hkv, g·rows, D] and keys
 * k [B, Hkv, kend, D] (batch and key/value heads merged in the first axis). `causal` is the tile's [rows, kend] mask.
 */
function tileProbabilities(q: tf.Tensor3D, k: tf.Tensor3D, keyBias: tf.Tensor2D, causal: tf.Tensor2D, t: Tile, dims: { B: number; kvHeads: number; g: number; D: number }): tf.Tensor3D {
  return tf.tidy(() => {
    const { B, kvHeads, g, D } = dims;
    const scores = mm(q, k, false, true).mul(1 / Math.sqrt(D)).reshape([B, kvHeads, g, t.rows, t.kend]);
    const bias = tf.add(causal, keyBias.slice([0, 0], [B, t.kend]).reshape([B, 1, 1, 1, t.kend]));
    return tf.softmax(tf.add(scores, bias)).reshape([B * kvHeads, g * t.rows, t.kend]) as tf.Tensor3D;
  });
}

/**
 * Attention of queries q [B, Hq, L, D] (rotated) over keys and values k, v [B, Hkv, T, D] (the past's first:
 * queries sit at positions T − L …, T − 1), query head h reading key/value head ⌊h / (Hq/Hkv)⌋; keyBias [B, T]
 * (ops.keyBias) masks padding. Returns the context [B, Hq, L, D], differentiable w.r.t. q, k and v.
 */
export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, keyBias: tf.Tensor2D, tileRows: number): tf.Tensor4D {
  const [B, H, L, D] = q.shape;
  const kvHeads = k.shape[1], T = k.shape[2], g = H / kvHeads, past = T - L;
  const dims = { B, kvHeads, g, D };
  const tiles: Tile[] = [];
  const step = Math.max(1, Math.min(L, tileRows));
  for (let start = 0; start < L; start += step) {
    const rows = Math.min(step, L - start);
    tiles.push({ start, rows, kend: past + start + rows });
  }
  const causal = (t: Tile) => {
    const m = new Float32Array(t.rows * t.kend);
    for (let i = 0; i < t.rows; i++) m.fill(MASK.FUTURE, i * t.kend + past + t.start + i + 1, (i + 1) * t.kend);
    return tf.tensor2d(m, [t.rows, t.kend]);
  };
  // [B, Hq, L, D] rows of a tile as [B·Hkv, g·rows, D]; keys and values up to kend as [B·Hkv, kend, D]
  const rowsOf = (x: tf.Tensor, t: Tile) => x.slice([0, 0, t.start, 0], [B, H, t.rows, D]).reshape([B * kvHeads, g * t.rows, D]) as tf.Tensor3D;
  const keysOf = (x: tf.Tensor, t: Tile) => x.slice([0, 0, 0, 0], [B, kvHeads, t.kend, D]).reshape([B * kvHeads, t.kend, D]) as tf.Tensor3D;
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [qq, kk, vv] = args as tf.Tensor4D[];
    const kb = args[3] as tf.Tensor2D;
    // (the key bias is an input only to be kept with q, k and v for the backward: it gets no gradient)
    (args[4] as tf.GradSaveFunc)([qq, kk, vv, kb]);
    const value = tf.tidy(() => {
      const parts = tiles.map((t) => tf.tidy(() => {
        const p = tileProbabilities(rowsOf(qq, t), keysOf(kk, t), kb, causal(t), t, dims);
        return mm(p, keysOf(vv, t)).reshape([B, H, t.rows, D]);
      }));
      return parts.length === 1 ? parts[0] : tf.concat(parts, 2);
    });
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => {
        const [sq, sk, sv, skb] = saved;
        let dk = tf.zeros([B * kvHeads, T, D]), dv = tf.zeros([B * kvHeads, T, D]);
        const dq = tiles.map((t) => {
          const qt = rowsOf(sq, t), kt = keysOf(sk, t), vt = keysOf(sv, t), dout = rowsOf(dy, t);
          const [dqt, dkt, dvt] = tf.tidy(() => {
            const p = tileProbabilities(qt, kt, skb as tf.Tensor2D, causal(t), t, dims);
            const dp = mm(dout, vt, false, true);
            const ds = tf.mul(p, tf.sub(dp, tf.sum(tf.mul(dp, p), -1, true))) as tf.Tensor3D;
            const after: Array<[number, number]> = [[0, 0], [0, T - t.kend], [0, 0]];
            return [
              mm(ds, kt).mul(1 / Math.sqrt(D)).reshape([B, H, t.rows, D]),
              tf.pad(mm(ds, qt, true).mul(1 / Math.sqrt(D)), after),
              tf.pad(mm(p, dout, true), after),
            ];
          });
          const [nk, nv] = [tf.add(dk, dkt), tf.add(dv, dvt)];
          tf.dispose([dk, dv, dkt, dvt, qt, kt, vt, dout]);
          [dk, dv] = [nk, nv];
          return dqt;
        });
        return [dq.length === 1 ? dq[0] : tf.concat(dq, 2), dk.reshape(sk.shape), dv.reshape(sv.shape), tf.zerosLike(skb)];
      }),
    };
  });
  return f(q, k, v, keyBias) as tf.Tensor4D;
}
