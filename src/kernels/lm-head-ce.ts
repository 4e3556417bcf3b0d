/**
 * The LM head and its cross-entropy fused on ONNX Runtime: one call per chunk of rows computes
 *   loss = Σ −log softmax(h·W)[target]   and   dL/dh = (softmax(h·W) − onehot(target))·Wᵀ
 * so the [rows, vocab] logits, probabilities and their gradient live only inside ORT, one chunk at a
 * time, and the backward pass needs no recomputation: the gradient is kept from the forward pass and
 * scaled by the upstream gradient. The frozen weight is a graph input read in place (a tfjs tensor's view of the wasm
 * heap): no second copy of the vocabulary-sized table (545 MB at the 0.5B shape).
 */
import * as tf from "@tensorflow/tfjs";
import type { WeightData, WeightLayout } from "./frozen-linear.js";
import { encodeModel, type Graph } from "./onnx-proto.js";
import { OrtSession, ortAvailable, ortThreads } from "./ort.js";
import { cachedForWeight } from "./weight-cache.js";
import { hostData, ortServesActiveBackend } from "./bridge.js";

function ceGraph(dims: number[], transposed: boolean): Graph {
  return {
    name: "lm_head_cross_entropy",
    nodes: [
      { opType: "Gemm", inputs: ["h", "W"], outputs: ["logits"], attributes: { transB: transposed ? 1 : 0 } },
      { opType: "LogSoftmax", inputs: ["logits"], outputs: ["logp"], attributes: { axis: 1 } },
      { opType: "GatherElements", inputs: ["logp", "t"], outputs: ["picked"], attributes: { axis: 1 } },
      { opType: "ReduceSum", inputs: ["picked"], outputs: ["picked_sum"], attributes: { keepdims: 0 } },
      { opType: "Neg", inputs: ["picked_sum"], outputs: ["loss"] },
      { opType: "Exp", inputs: ["logp"], outputs: ["p"] },
      { opType: "Exp", inputs: ["picked"], outputs: ["p_target"] },
      { opType: "Sub", inputs: ["p_target", "one"], outputs: ["g_target"] },
      { opType: "ScatterElements", inputs: ["p", "t", "g_target"], outputs: ["g"], attributes: { axis: 1 } },
      { opType: "Gemm", inputs: ["g", "W"], outputs: ["dh"], attributes: { transB: transposed ? 0 : 1 } },
    ],
    inputs: [
      { name: "h", elemType: 1, dims: ["rows", transposed ? dims[1] : dims[0]] },
      { name: "t", elemType: 7, dims: ["rows", 1] },
      { name: "W", elemType: 1, dims },
    ],
    outputs: [
      { name: "loss", elemType: 1, dims: [] },
      { name: "dh", elemType: 1, dims: ["rows", transposed ? dims[1] : dims[0]] },
    ],
    initializers: [{ name: "one", dims: [], data: Float32Array.of(1) }],
  };
}

/** out[i − s] = all[rows[i]] for i in [s, e): rows of width H. */
function gatherRows(all: Float32Array, rows: number[], s: number, e: number, H: number, out: Float32Array): void {
  for (let i = s; i < e; i++) out.set(all.subarray(rows[i] * H, (rows[i] + 1) * H), (i - s) * H);
}

/** out[rows[i]] += part[i − s] for i in [s, e): rows of width H. */
function scatterAddRows(part: Float32Array, rows: number[], s: number, e: number, H: number, out: Float32Array): void {
  for (let i = s; i < e; i++) {
    const p = (i - s) * H, o = rows[i] * H;
    for (let j = 0; j < H; j++) out[o + j] += part[p + j];
  }
}

export class LmHeadCrossEntropy {
  readonly hidden: number;
  readonly vocab: number;
  private readonly session: OrtSession;
  private readonly dims: number[];
  /** The weight's values: a view of the tensor's memory taken at each call (a wasm heap view is valid until tfjs allocates). */
  private readonly weight: () => Float32Array;

  /**
   * `weight` is the head as stored: [hidden, vocab] ("in,out", default) or [vocab, hidden] ("out,in",
   * e.g. a tied embedding). Requires onnxruntime-node (see ortAvailable()).
   */
  constructor(weight: tf.Tensor2D | WeightData, options: { layout?: WeightLayout; threads?: number } = {}) {
    const transposed = options.layout === "out,in";
    const dims = (this.dims = [...weight.shape]);
    if (dims.length !== 2) throw new Error(`LmHeadCrossEntropy: weight must be 2-D, got [${dims}]`);
    [this.hidden, this.vocab] = transposed ? [dims[1], dims[0]] : [dims[0], dims[1]];
    this.weight = weight instanceof tf.Tensor ? () => hostData(weight) : () => weight.data;
    this.session = new OrtSession(encodeModel({ graph: ceGraph(dims, transposed), opsets: { "": 17 } }), { threads: options.threads ?? ortThreads(), label: "LM head + cross-entropy" });
  }

  /** Loss sum and dL/dh for one chunk: h [rows, hidden] row-major, one target per row. */
  chunk(h: Float32Array, targets: ArrayLike<number>): { loss: number; grad: Float32Array } {
    const rows = targets.length;
    const t = new BigInt64Array(rows);
    for (let i = 0; i < rows; i++) {
      const v = targets[i];
      if (!Number.isInteger(v) || v < 0 || v >= this.vocab) throw new Error(`LmHeadCrossEntropy: target ${v} outside [0, ${this.vocab})`);
      t[i] = BigInt(v);
    }
    const s = this.session;
    const out = s.runMany({ h: s.float(h, [rows, this.hidden]), t: s.int64(t, [rows, 1]), W: s.float(this.weight(), this.dims) }, ["loss", "dh"]);
    return { loss: out.loss.data[0], grad: out.dh.data };
  }

  /**
   * Σ over i of the cross-entropy of softmax(h[rows[i]]·W) against targets[i], differentiable w.r.t. h
   * [N, hidden]. Rows are processed `chunkRows` at a time (default: ~64 MB of logits per chunk).
   */
  sum(h: tf.Tensor2D, rows: number[], targets: number[], chunkRows = Math.max(1, Math.floor(2 ** 24 / this.vocab))): tf.Scalar {
    if (rows.length !== targets.length) throw new Error("LmHeadCrossEntropy.sum: rows and targets differ in length");
    const [N, H] = h.shape;
    if (H !== this.hidden) throw new Error(`LmHeadCrossEntropy.sum: h is [${h.shape}], expected [N, ${this.hidden}]`);
    const f = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const all = (inputs[0] as tf.Tensor).dataSync() as Float32Array;
      const grad = new Float32Array(N * H);
      const picked = new Float32Array(Math.min(chunkRows, rows.length) * H);
      let loss = 0;
      for (let s = 0; s < rows.length; s += chunkRows) {
        const e = Math.min(rows.length, s + chunkRows);
        gatherRows(all, rows, s, e, H, picked);
        const part = this.chunk(picked.subarray(0, (e - s) * H), targets.slice(s, e));
        loss += part.loss;
        scatterAddRows(part.grad, rows, s, e, H, grad);
      }
      return {
        value: tf.scalar(loss),
        gradFunc: (dy: tf.Tensor) => tf.tidy(() => tf.mul(tf.tensor2d(grad, [N, H]), dy)),
      };
    });
    return f(h) as tf.Scalar;
  }

  dispose(): void {
    this.session.dispose();
  }
}

/** The fused head + cross-entropy for a frozen tfjs head weight (cached with it); null without ORT or off the CPU backends. */
export function lmHeadCrossEntropyFor(weight: tf.Tensor2D, layout: WeightLayout = "in,out"): LmHeadCrossEntropy | null {
  if (!ortAvailable() || !ortServesActiveBackend() || weight.isDisposed) return null;
  return cachedForWeight(weight, `lm-head-ce ${layout}`, () => new LmHeadCrossEntropy(weight, { layout }));
}
