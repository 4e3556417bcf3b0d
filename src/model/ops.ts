import * as tf from "@tensorflow/tfjs";
import { frozenLinearFor, hostData, lmHeadCrossEntropyFor, MASK, ortMatMulActive, tensorsOnHost } from "../kernels/index.js";

/** Whether tf.matMul's transpose flags and batched products run at full speed here (on ORT, or on a GPU). */
export function flaggedMatMulFast(): boolean {
  return ortMatMulActive() || tf.getBackend() === "webgpu";
}

/*
 * Matrix products laid out for the fast path of the wasm backend: a plain 2-D matMul with no transpose
 * flags runs ~12x faster there than the transposed or batched variants autodiff would otherwise produce,
 * so the gradients below transpose explicitly (an O(n·m) copy) and multiply untransposed. When tf.matMul
 * runs on ORT (src/kernels), transposed and batched products are as fast as plain ones: a·bᵀ and batched
 * products are then single tf.matMul calls with transpose flags (no copies, no per-head unstack/stack);
 * so they are on WebGPU.
 */

/** x [n, in] @ wt [in, out] where wt is frozen: the gradient flows to x only, through the fast path. */
export function frozenMatMul(x: tf.Tensor2D, wt: tf.Tensor2D): tf.Tensor2D {
  // onnxruntime's MLAS (weight held in native memory, both passes) when onnxruntime-node loads.
  const fast = frozenLinearFor(wt);
  if (fast) return fast.apply(x);
  const f = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: tf.matMul(inputs[0] as tf.Tensor2D, wt),
    gradFunc: (dy: tf.Tensor) =>
      tf.tidy(() => (flaggedMatMulFast() ? tf.matMul(dy as tf.Tensor2D, wt, false, true) : tf.matMul(wt, (dy as tf.Tensor2D).transpose()).transpose())),
  }));
  return f(x) as tf.Tensor2D;
}

/** a [n, k] @ b [k, m] with gradients to both, each computed as an untransposed 2-D matMul. */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [aa, bb, save] = inputs as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([aa, bb]);
    return {
      value: tf.matMul(aa as tf.Tensor2D, bb as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sa, sb] = saved as tf.Tensor2D[];
        const g = dy as tf.Tensor2D;
        return [
          tf.tidy(() => tf.matMul(sb, g.transpose()).transpose()),
          tf.tidy(() => tf.matMul(sa.transpose(), g)),
        ];
      },
    };
  });
  return f(a, b) as tf.Tensor2D;
}

/** x [n, in] @ w [in, out] where w trains: gradients to both (on ORT one tf.matMul, else the untransposed path). */
export function linearMatMul(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return flaggedMatMulFast() ? tf.matMul(x, w) : matMul2d(x, w);
}

/**
 * Embedding lookup [N] ids -> [N, hidden] from the transposed table embedT [hidden, vocab], with a gradient
 * for the table (full-parameter training). The backward scatter-adds dy's rows into the table's columns:
 * on the GPU with UnsortedSegmentSum, elsewhere on the host (the wasm backend lacks that kernel).
 */
export function embedLookup(embedT: tf.Tensor2D, ids: number[]): tf.Tensor2D {
  const f = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const table = inputs[0] as tf.Tensor2D;
    const [H, V] = table.shape;
    return {
      value: tf.tidy(() => tf.gather(table, ids, 1).transpose()),
      gradFunc: (dy: tf.Tensor) => {
        if (tf.getBackend() === "webgpu") return tf.tidy(() => tf.unsortedSegmentSum(dy, ids, V).transpose());
        const rows = dy.dataSync() as Float32Array;
        const grad = new Float32Array(H * V);
        ids.forEach((id, n) => {
          for (let h = 0; h < H; h++) grad[h * V + id] += rows[n * H + h];
        });
        return tf.tensor2d(grad, [H, V]);
      },
    };
  });
  return f(embedT) as tf.Tensor2D;
}

/**
 * Columns `ids` of a frozen [rows, cols] table, as rows: [ids.length, rows] (the embedding lookup from embedT). On
 * the CPU backends they are read on the host (tfjs-wasm's Gather along axis 1 plus the transpose cost ~10× more).
 */
export function lookupColumns(table: tf.Tensor2D, ids: number[]): tf.Tensor2D {
  if (!tensorsOnHost()) return tf.gather(table, ids, 1).transpose();
  const [rows, cols] = table.shape;
  const out = new Float32Array(ids.length * rows);
  const data = hostData(table);
  ids.forEach((id, n) => {
    for (let r = 0; r < rows; r++) out[n * rows + r] = data[r * cols + id];
  });
  return tf.tensor2d(out, [ids.length, rows]);
}

/**
 * A [rows, cols] matrix held as column shards (each under a GPU's binding limit): its columns [start,
 * start + width) are shards[i]. Built once from host data by `columnShards`.
 */
export interface ColumnShards {
  shards: tf.Tensor2D[];
  starts: number[];
}

/** Splits row-major host data [rows, cols] into column shards of at most `maxBytes` each. */
export function columnShards(data: Float32Array, rows: number, cols: number, maxBytes: number): ColumnShards {
  const width = Math.max(1, Math.floor(maxBytes / (4 * rows)));
  const shards: tf.Tensor2D[] = [], starts: number[] = [];
  for (let c0 = 0; c0 < cols; c0 += width) {
    const w = Math.min(width, cols - c0);
    const part = new Float32Array(rows * w);
    for (let r = 0; r < rows; r++) part.set(data.subarray(r * cols + c0, r * cols + c0 + w), r * w);
    shards.push(tf.tensor2d(part, [rows, w]));
    starts.push(c0);
  }
  return { shards, starts };
}

/** Columns `ids` of a sharded matrix: [rows, ids.length] (the embedding lookup of a sharded table). */
export function gatherColumns(m: ColumnShards, ids: number[]): tf.Tensor2D {
  return tf.tidy(() => {
    const local: number[][] = m.shards.map(() => []), order: number[][] = m.shards.map(() => []);
    ids.forEach((id, n) => {
      let s = m.starts.length - 1;
      while (m.starts[s] > id) s--;
      local[s].push(id - m.starts[s]);
      order[s].push(n);
    });
    const used = m.shards.map((_, s) => s).filter((s) => local[s].length > 0);
    const parts = tf.concat(used.map((s) => tf.gather(m.shards[s], local[s], 1)), 1);
    // parts holds the columns grouped by shard: put them back in the order of ids.
    const where = new Array<number>(ids.length);
    used.flatMap((s) => order[s]).forEach((n, at) => (where[n] = at));
    return tf.gather(parts, where, 1) as tf.Tensor2D;
  });
}

/** x [n, rows] @ M [rows, cols] for a sharded M: [n, cols], one product per shard. */
export function matMulShards(x: tf.Tensor2D, m: ColumnShards): tf.Tensor2D {
  return tf.tidy(() => tf.concat(m.shards.map((s) => tf.matMul(x, s)), 1) as tf.Tensor2D);
}

/** a [n, k] @ b [m, k]ᵀ with gradients to both. */
export function matMulT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (flaggedMatMulFast()) return tf.matMul(a, b, false, true);
  return tf.tidy(() => matMul2d(a, b.transpose()));
}

/** Batched a [n, p, k] @ b [n, m, k]ᵀ. */
export function bmmT(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (flaggedMatMulFast()) return tf.matMul(a, b, false, true);
  return tf.tidy(() => bmm(a, b.transpose([0, 2, 1])));
}

/** Batched a [n, p, k] @ b [n, k, m] (on wasm without ORT: n 2-D products, batched matMul is its slow path). */
export function bmm(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (flaggedMatMulFast()) return tf.matMul(a, b);
  const n = a.shape[0];
  if (n === 1) return matMul2d(a.squeeze([0]), b.squeeze([0])).expandDims(0) as tf.Tensor3D;
  const as = tf.unstack(a) as tf.Tensor2D[];
  const bs = tf.unstack(b) as tf.Tensor2D[];
  return tf.stack(as.map((ai, i) => matMul2d(ai, bs[i]))) as tf.Tensor3D;
}

/** Qwen2RMSNorm: x · rsqrt(mean(x²) + eps) · weight, over the last axis. */
export function rmsNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, eps: number): T {
  return tf.tidy(() => {
    const variance = tf.mean(tf.square(x), -1, true);
    return tf.mul(tf.mul(x, tf.rsqrt(tf.add(variance, eps))), weight) as T;
  });
}

/** rotate_half: concat(-x2, x1) over the last axis. */
function rotateHalf(x: tf.Tensor4D): tf.Tensor4D {
  const [x1, x2] = tf.split(x, 2, -1);
  return tf.concat([tf.neg(x2), x1], -1) as tf.Tensor4D;
}

/** Applies rotary embeddings to x [B, heads, L, d] with cos/sin [B, 1, L, d]. */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor4D, sin: tf.Tensor4D): tf.Tensor4D {
  return tf.add(tf.mul(x, cos), tf.mul(rotateHalf(x), sin));
}

/**
 * cos/sin tables [B, 1, L, d] for the given position ids, computed in float32 the way transformers'
 * Qwen2RotaryEmbedding does (inv_freq = 1/θ^(2i/d), angle = pos·inv_freq, emb = cat(freqs, freqs)).
 */
export function ropeTables(positionIds: number[][], headDim: number, theta: number): { cos: tf.Tensor4D; sin: tf.Tensor4D } {
  const half = headDim / 2;
  const invFreq = new Float32Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / headDim))));
  const B = positionIds.length, L = positionIds[0].length;
  const cos = new Float32Array(B * L * headDim);
  const sin = new Float32Array(B * L * headDim);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L; t++) {
      const p = positionIds[b][t];
      const base = (b * L + t) * headDim;
      for (let i = 0; i < half; i++) {
        const a = Math.fround(p * invFreq[i]);
        cos[base + i] = cos[base + half + i] = Math.cos(a);
        sin[base + i] = sin[base + half + i] = Math.sin(a);
      }
    }
  }
  return { cos: tf.tensor4d(cos, [B, 1, L, headDim]), sin: tf.tensor4d(sin, [B, 1, L, headDim]) };
}

/** Position ids as Hugging Face generate() derives them: cumsum(mask) - 1, with padding set to 1. */
export function positionIdsFromMask(mask: number[][]): number[][] {
  return mask.map((row) => {
    let c = 0;
    return row.map((m) => {
      c += m;
      return m === 0 ? 1 : c - 1;
    });
  });
}

/** The additive key bias [B, T] of an attention mask [B, T]: 0 for a real token, MASK.PADDING for padding. */
export function keyBias(mask: number[][]): tf.Tensor2D {
  const B = mask.length, T = mask[0].length;
  const out = new Float32Array(B * T);
  mask.forEach((row, b) => row.forEach((m, j) => (out[b * T + j] = m === 0 ? MASK.PADDING : 0)));
  return tf.tensor2d(out, [B, T]);
}

/**
 * Sum over the selected rows of h [N, H] of the cross-entropy of softmax(h @ headT) against `targets`,
 * without materialising the [N, vocab] logits or their gradient at once: both passes go through chunks
 * of rows (the backward recomputes each chunk's logits). `rows[i]` is the row of h whose target is
 * `targets[i]`. headT [H, V] is frozen unless `trainHead`: then the scalar is also differentiable w.r.t.
 * headT (its gradient summed over the chunks, Σ h_chunkᵀ·g). Returns a scalar differentiable w.r.t. h.
 * `shards`, when the head is too large for one GPU kernel, is headT by columns (then the head cannot train);
 * a chunk's logits then stay under `maxBytes` too.
 */
export function chunkedCrossEntropySum(
  h: tf.Tensor2D,
  headT: tf.Tensor2D,
  rows: number[],
  targets: number[],
  chunkRows?: number,
  trainHead = false,
  shards?: { head: ColumnShards; maxBytes: number },
): tf.Scalar {
  const N = h.shape[0], V = headT.shape[1];
  chunkRows ??= Math.max(1, Math.floor(Math.min(2 ** 24, (shards?.maxBytes ?? Infinity) / 4) / V));
  if (shards && trainHead) throw new Error("The LM head is larger than this GPU can bind at once: it can be used, but not trained (full-parameter training)");
  // onnxruntime: head and cross-entropy fused per chunk, the gradient kept from the forward pass.
  const fused = trainHead ? null : lmHeadCrossEntropyFor(headT);
  if (fused) return fused.sum(h, rows, targets, chunkRows);
  const logitsOf = (x: tf.Tensor2D) => (shards ? matMulShards(x, shards.head) : tf.matMul(x, headT));
  // dL/dx = g·headᵀ, by shards: Σ g[:, shard's columns]·shardᵀ.
  const backOf = (g: tf.Tensor2D) =>
    shards
      ? tf.tidy(() =>
          shards.head.shards
            .map((s, i) => tf.matMul(tf.slice(g, [0, shards.head.starts[i]], [-1, s.shape[1]]), s, false, true))
            .reduce((a, b) => tf.add(a, b)),
        )
      : tf.matMul(g, headT, false, true);
  const chunks: [number, number][] = [];
  for (let s = 0; s < rows.length; s += chunkRows) chunks.push([s, Math.min(rows.length, s + chunkRows)]);
  const f = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const hh = inputs[0] as tf.Tensor;
    const save = inputs[inputs.length - 1] as tf.GradSaveFunc;
    save([hh]);
    const value = tf.tidy(() => {
      let total: tf.Tensor = tf.scalar(0);
      for (const [s, e] of chunks) {
        // One tidy per chunk: only this chunk's [rows, vocab] logits are alive at a time.
        const part = tf.tidy(() => {
          const logits = logitsOf(tf.gather(hh, rows.slice(s, e)) as tf.Tensor2D);
          const picked = tf.gather(logits.reshape([-1]), targets.slice(s, e).map((t, i) => i * V + t));
          return tf.sum(tf.sub(tf.logSumExp(logits, 1), picked));
        });
        const next = tf.add(total, part);
        tf.dispose([total, part]);
        total = next;
      }
      return total as tf.Scalar;
    });
    return {
      value: value as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const parts: tf.Tensor2D[] = [];
          let dHead: tf.Tensor | undefined;
          for (const [s, e] of chunks) {
            // Each [rows, vocab] temporary is freed as soon as the next exists: at most two are alive.
            const step = <T extends tf.Tensor>(prev: tf.Tensor[], next: T): T => {
              tf.dispose(prev);
              return next;
            };
            const hs = tf.gather(saved[0], rows.slice(s, e)) as tf.Tensor2D;
            const logits = logitsOf(hs);
            let g = step([logits], tf.softmax(logits) as tf.Tensor2D);
            // (tf.oneHot with dtype float32 returns all zeros on the wasm backend: cast the int32 one.)
            const onehot = tf.tidy(() => tf.cast(tf.oneHot(targets.slice(s, e), V), "float32"));
            g = step([g, onehot], tf.sub(g, onehot) as tf.Tensor2D);
            g = step([g], tf.mul(g, dy) as tf.Tensor2D);
            if (trainHead) {
              const part = tf.matMul(hs, g, true, false);
              dHead = dHead ? step([dHead, part], tf.add(dHead, part)) : part;
            }
            hs.dispose();
            if (flaggedMatMulFast()) {
              parts.push(step([g], backOf(g) as tf.Tensor2D));
              continue;
            }
            const gT = step([g], g.transpose());
            const dhT = step([gT], tf.matMul(headT, gT));
            parts.push(step([dhT], dhT.transpose()));
          }
          // Scatter the selected rows back into [N, H] with a forward gather (zero row for the others).
          const selected = tf.concat([...parts, tf.zeros([1, h.shape[1]])]);
          const where = new Array<number>(N).fill(rows.length);
          rows.forEach((r, i) => (where[r] = i));
          const dh = tf.gather(selected, where);
          return trainHead ? [dh, dHead ?? tf.zerosLike(headT)] : dh;
        }),
    };
  });
  return (trainHead ? f(h, headT) : f(h)) as tf.Scalar;
}
