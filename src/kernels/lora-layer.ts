/**
 * A decoder layer with its LoRA adapters (or none) on ONNX Runtime (graphs in lora-layer-graph.ts) as one differentiable tfjs op:
 * forward in one ORT call, backward in one, gradients to x and to every adapter's A and B. The frozen
 * weights, x and the adapters are read in place from the tfjs tensors (views of the wasm heap); the
 * activations the backward needs stay in host memory (outside the 4 GiB wasm heap) until it runs. The
 * sessions depend only on the layer's shape and adapters, so one pair serves every layer of a model.
 */
import * as tf from "@tensorflow/tfjs";
import { hostData, ortServesActiveBackend } from "./bridge.js";
import { encodeModel } from "./onnx-proto.js";
import { OrtSession, ortAvailable, type OrtTensor } from "./ort.js";
import { SAVED, WEIGHT_INPUTS, backwardGraph, forwardGraph, inferenceGraph, savedDims, type LayerShape, type LoraSpec } from "./lora-layer-graph.js";
import type { LinearName } from "./lora-layer-graph.js";

export type { LayerShape, LoraSpec } from "./lora-layer-graph.js";

export interface LoraLayerAdapter {
  linear: LinearName;
  /** [r, in] and [out, r], as peft stores them. */
  A: tf.Tensor2D;
  B: tf.Tensor2D;
}

export interface LoraLayerInputs {
  /** [B·L, hidden] */
  x: tf.Tensor2D;
  B: number;
  L: number;
  /** [B, 1, L, headDim] */
  cos: tf.Tensor4D;
  sin: tf.Tensor4D;
  /** Per key, 0 or PADDING (ops.keyBias): [B, T], T = past + L. */
  keyBias: tf.Tensor2D;
  /** Query rows per attention tile (at least 1): fewer than L runs the tiled graphs; absent, L (one tile). */
  tile?: number;
  /** The frozen tensors in WEIGHT_INPUTS order (wq, wk, wv, bq, bk, bv, wo, wg, wu, wd, n1, n2). */
  weights: tf.Tensor[];
  /** One per LoraSpec.linears entry, in that order. */
  adapters: LoraLayerAdapter[];
  /** Writes the dropout multiplier of an adapter's input (with LoraSpec.dropout), B·L · in values: again for the backward. */
  mask?: (linear: LinearName, out: Float32Array) => void;
  /** Keep the activations for the backward pass (else it recomputes the forward first). */
  save: boolean;
  /** Keep the forward's dropout masks for the backward (else `mask` draws them again). */
  keepMasks?: boolean;
  /**
   * Whether the backward computes dL/dx (default true). False where x does not depend on anything trainable (the
   * first layer's input, frozen embeddings): its gradient is then zeros, and the products that make it are skipped.
   */
  inputGrad?: boolean;
}

/** The tensors a pass reads: the op's inputs, or what the tape saved of them. */
interface Tensors {
  x: tf.Tensor;
  cos: tf.Tensor;
  sin: tf.Tensor;
  keyBias: tf.Tensor;
  /** A, B of each adapter in turn. */
  adapters: tf.Tensor[];
}

/** A layer step with a KV cache: the keys and values of past positions, [B, Hkv, P, D] (none at the first step). */
export interface LayerInferenceInputs extends Omit<LoraLayerInputs, "save" | "mask" | "keepMasks" | "inputGrad"> {
  past?: { k: tf.Tensor4D; v: tf.Tensor4D };
}

/** Each linear's weight among the WEIGHT_INPUTS ([in, out]: its input width is shape[0]). */
const LINEAR_WEIGHT: Record<LinearName, (typeof WEIGHT_INPUTS)[number]> = {
  q_proj: "wq", k_proj: "wk", v_proj: "wv", o_proj: "wo", gate_proj: "wg", up_proj: "wu", down_proj: "wd",
};

export class LoraLayerKernel {
  /** Sessions by graph (forward, inference, backward variants; tiled or not), built on first use. */
  private readonly sessions = new Map<string, OrtSession>();
  /** The masks' buffers, reused from call to call (ORT reads them synchronously; a fresh array costs more to fault in than to fill). */
  private readonly maskBuffers: Float32Array[] = [];
  private tokenIndex = new BigInt64Array(0);

  constructor(readonly shape: LayerShape, readonly spec: LoraSpec) {}

  private session(key: string, graph: () => ReturnType<typeof forwardGraph>): OrtSession {
    let s = this.sessions.get(key);
    // No arena: a layer's intermediates grow with the sequence, and every session's arena would keep its longest run's.
    if (!s) this.sessions.set(key, (s = new OrtSession(encodeModel({ graph: graph(), opsets: { "": 17, "com.microsoft": 1 } }), { arena: false, label: "decoder layers" })));
    return s;
  }

  private forwardSession(tiled: boolean): OrtSession {
    return this.session(`forward ${tiled}`, () => forwardGraph(this.shape, this.spec, tiled));
  }

  private backwardSession(saved: boolean, inputGrad: boolean, tiled: boolean): OrtSession {
    return this.session(`backward ${saved} ${inputGrad} ${tiled}`, () => backwardGraph(this.shape, this.spec, saved, inputGrad, tiled));
  }

  /** 0, 1, …, n − 1: each token's row in the RoPE tables. */
  private tokenRows(n: number): BigInt64Array {
    if (this.tokenIndex.length < n) this.tokenIndex = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
    return this.tokenIndex.subarray(0, n);
  }

  /** The feeds both passes share. Views of the wasm heap: call after the last tfjs allocation before the run. */
  private feeds(s: OrtSession, inp: Pick<LoraLayerInputs, "B" | "L" | "weights" | "tile">, t: Tensors, masks: Float32Array[]): Record<string, OrtTensor> {
    const { headDim: D, heads, kvHeads } = this.shape;
    const f = (t: tf.Tensor) => s.float(hostData(t), t.shape);
    const feeds: Record<string, OrtTensor> = {
      x: f(t.x), cos: f(t.cos), sin: f(t.sin), key_bias: f(t.keyBias), pos: s.int64(this.tokenRows(inp.B * inp.L), [inp.B, inp.L]),
      shape_q: s.int64(BigInt64Array.of(BigInt(inp.B), BigInt(inp.L), BigInt(heads), BigInt(D)), [4]),
      shape_kv: s.int64(BigInt64Array.of(BigInt(inp.B), BigInt(inp.L), BigInt(kvHeads), BigInt(D)), [4]),
    };
    if (tiled(inp)) feeds.tile = s.int64(BigInt64Array.of(BigInt(inp.tile!)), [1]);
    WEIGHT_INPUTS.forEach((name, i) => (feeds[name] = f(inp.weights[i])));
    this.spec.linears.forEach((l, i) => {
      feeds[`${l}.A`] = f(t.adapters[2 * i]);
      feeds[`${l}.B`] = f(t.adapters[2 * i + 1]);
      const rows = t.x.shape[0];
      if (this.spec.dropout) feeds[`${l}.mask`] = s.float(masks[i], [rows, masks[i].length / rows]);
    });
    return feeds;
  }

  /**
   * The layer's output [B·L, hidden] and the cache's keys and values after this step, [B, Hkv, P + L, D]; no
   * gradient. (A kernel built with LoraSpec.dropout false: inference draws no masks.)
   */
  infer(inp: LayerInferenceInputs): { y: tf.Tensor2D; k: tf.Tensor4D; v: tf.Tensor4D } {
    if (this.spec.dropout) throw new Error("LoraLayerKernel.infer: this kernel was built for dropout (training)");
    const s = this.session(`inference ${tiled(inp)}`, () => inferenceGraph(this.shape, this.spec, tiled(inp)));
    const { kvHeads, headDim } = this.shape;
    const adapters = inp.adapters.flatMap((a) => [a.A, a.B]);
    const none = (): OrtTensor => s.float(new Float32Array(0), [inp.B, kvHeads, 0, headDim]);
    const feeds = this.feeds(s, inp, { x: inp.x, cos: inp.cos, sin: inp.sin, keyBias: inp.keyBias, adapters }, []);
    feeds.past_k = inp.past ? s.float(hostData(inp.past.k), inp.past.k.shape) : none();
    feeds.past_v = inp.past ? s.float(hostData(inp.past.v), inp.past.v.shape) : none();
    const out = s.runMany(feeds, ["y", "k", "v"]);
    const T = (inp.past?.k.shape[2] ?? 0) + inp.L;
    return {
      y: tf.tensor2d(out.y.data as Float32Array, inp.x.shape),
      k: tf.tensor4d(out.k.data as Float32Array, [inp.B, kvHeads, T, headDim]),
      v: tf.tensor4d(out.v.data as Float32Array, [inp.B, kvHeads, T, headDim]),
    };
  }

  /** The layer's output [B·L, hidden], differentiable w.r.t. x and every adapter's A and B. */
  apply(inp: LoraLayerInputs): tf.Tensor2D {
    const vars = inp.adapters.flatMap((a) => [a.A, a.B]);
    const rows = inp.B * inp.L;
    const batchDims = { N: rows, B: inp.B, L: inp.L, GL: (this.shape.heads / this.shape.kvHeads) * inp.L, r: inp.adapters[0]?.A.shape[0] ?? 0 };
    const dims: Record<string, number[]> = { y: [rows, this.shape.hidden], ...savedDims(this.shape, this.spec, batchDims) };
    // Kept masks wait in pooled buffers for the backward; the others are drawn into this kernel's buffers, twice.
    const masksOf = (keep: boolean) => {
      if (!this.spec.dropout) return [];
      return this.spec.linears.map((l, i) => {
        const size = rows * inp.weights[WEIGHT_INPUTS.indexOf(LINEAR_WEIGHT[l])].shape[0];
        if (!keep && (this.maskBuffers[i]?.length ?? 0) < size) this.maskBuffers[i] = new Float32Array(size);
        const out = keep ? pool.take(size) : this.maskBuffers[i].subarray(0, size);
        inp.mask!(l, out);
        return out;
      });
    };
    let keptMasks: Float32Array[] | undefined;
    const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const save = args[args.length - 1] as tf.GradSaveFunc;
      const x = args[0] as tf.Tensor2D;
      const adapters = args.slice(1, -1) as tf.Tensor[];
      // (cos, sin and the key bias belong to the forward pass's scope: the tape keeps them for the backward)
      save([x, inp.cos, inp.sin, inp.keyBias, ...adapters]);
      const s = this.forwardSession(tiled(inp));
      const fetch = inp.save ? ["y", ...SAVED, ...this.spec.linears.map((l) => `${l}.z`)] : ["y"];
      const into = Object.fromEntries(fetch.map((name) => [name, s.float(pool.take(dims[name].reduce((a, b) => a * b)), dims[name])]));
      const masks = masksOf(inp.keepMasks ?? false);
      if (inp.keepMasks) keptMasks = masks;
      const out = s.runMany(this.feeds(s, inp, { x, cos: inp.cos, sin: inp.sin, keyBias: inp.keyBias, adapters }, masks), fetch, into);
      const kept = inp.save ? fetch.slice(1).map((name) => [name, out[name]] as const) : [];
      const y = tf.tensor2d(out.y.data as Float32Array, x.shape);
      pool.give(out.y.data as Float32Array);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, cos, sin, keyBias, ...as] = saved;
          const inputGrad = inp.inputGrad ?? true;
          const b = this.backwardSession(inp.save, inputGrad, tiled(inp));
          const masks = keptMasks ?? masksOf(false);
          const feeds = { ...this.feeds(b, inp, { x: xs, cos, sin, keyBias, adapters: as }, masks), ...Object.fromEntries(kept) };
          feeds.dy = b.float(hostData(dy), dy.shape);
          const dx = inputGrad ? b.float(pool.take(rows * this.shape.hidden), [rows, this.shape.hidden]) : undefined;
          const grads = b.runMany(feeds, [...(dx ? ["dx"] : []), ...this.spec.linears.flatMap((l) => [`${l}.dA`, `${l}.dB`])], dx ? { dx } : {});
          // The backward runs once: its inputs' buffers go back to the pool.
          for (const [, t] of kept) pool.give(t.data as Float32Array);
          kept.length = 0;
          keptMasks?.forEach((m) => pool.give(m));
          keptMasks = undefined;
          const dxTensor = dx ? tf.tensor2d(dx.data as Float32Array, xs.shape as [number, number]) : tf.zerosLike(xs);
          if (dx) pool.give(dx.data as Float32Array);
          return [
            dxTensor,
            ...this.spec.linears.flatMap((l, i) => [
              tf.tensor(grads[`${l}.dA`].data as Float32Array, as[2 * i].shape),
              tf.tensor(grads[`${l}.dB`].data as Float32Array, as[2 * i + 1].shape),
            ]),
          ];
        },
      };
    });
    return f(inp.x, ...vars) as tf.Tensor2D;
  }
}

/**
 * Host buffers for the layers' outputs, reused from step to step: fresh arrays cost more to fault in than to fill and
 * keep the garbage collector busy. At most MAX_BYTES wait between uses (a small model's whole step; a large model's
 * step allocates beyond it as before); a buffer that would pass that empties the pool first, so the pool follows the
 * sizes in use when batches change length.
 */
const pool = {
  MAX_BYTES: 256 * 2 ** 20,
  free: new Map<number, Float32Array[]>(),
  bytes: 0,

  take(length: number): Float32Array {
    const b = this.free.get(length)?.pop();
    if (!b) return new Float32Array(length);
    this.bytes -= b.byteLength;
    return b;
  },

  give(b: Float32Array): void {
    if (b.byteLength > this.MAX_BYTES) return;
    if (this.bytes + b.byteLength > this.MAX_BYTES) {
      this.free.clear();
      this.bytes = 0;
    }
    this.bytes += b.byteLength;
    const list = this.free.get(b.length);
    if (list) list.push(b);
    else this.free.set(b.length, [b]);
  },
};

/** Whether a pass runs the tiled graphs: its tile has fewer rows than the queries. */
function tiled(inp: Pick<LoraLayerInputs, "L" | "tile">): boolean {
  return inp.tile !== undefined && inp.tile < inp.L;
}

const kernels = new Map<string, LoraLayerKernel>();

/** The kernel for this layer shape and adapter set (built once), or null without ORT or off the CPU backends. */
export function loraLayerKernelFor(shape: LayerShape, spec: LoraSpec): LoraLayerKernel | null {
  if (!ortAvailable() || !ortServesActiveBackend()) return null;
  const key = JSON.stringify([shape, spec]);
  let k = kernels.get(key);
  if (!k) kernels.set(key, (k = new LoraLayerKernel(shape, spec)));
  return k;
}
