/**
 * A Qwen2 decoder layer with LoRA adapters as two ONNX graphs, forward and backward, for training on ONNX
 * Runtime: one call per layer and pass instead of ~150 tfjs kernels and ~40 ORT products, and the
 * element-wise chains (RMSNorm, RoPE, softmax, SwiGLU, the LoRA branches and all their gradients) run on
 * ORT's threads. Shapes (N = B·L rows, H hidden, D = head dim, Hq/Hkv heads, g = Hq/Hkv, I intermediate):
 *   x [N, H] -> h = rmsnorm(x)·n1 -> q0, k0, v0 = h·W + b (+ LoRA) -> heads, RoPE -> softmax(q·kᵀ/√D + bias)·v
 *   -> ctx [N, H] -> x1 = x + ctx·Wo (+ LoRA) -> h2 = rmsnorm(x1)·n2 -> g, u = h2·W (+ LoRA)
 *   -> y = x1 + (silu(g)·u)·Wd (+ LoRA)
 * The frozen weights are graph inputs, read in place from the tfjs tensors (no second copy). The forward
 * also returns the products the backward needs (q0, k0, v0, ctx, x1, g, u and each adapter's z = dropout(x)·Aᵀ);
 * a backward without them recomputes the forward first. LoRA: y += s·(dropout(x)·Aᵀ)·Bᵀ (peft), the masks
 * are inputs (0 or 1/(1 − p)), and the adapters' gradients are dB = s·dyᵀ·z, dA = (s·dy·B)ᵀ·dropout(x).
 */
import type { Graph, Initializer, Node, ValueInfo } from "./onnx-proto.js";
import type { LinearName } from "../model/weights.js";

export interface LayerShape {
  hidden: number;
  intermediate: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  eps: number;
}

export interface LoraSpec {
  /** The linears with adapters, in LINEAR_NAMES order. */
  linears: LinearName[];
  scaling: number;
  /** Whether dropout masks are inputs (training with dropout > 0). */
  dropout: boolean;
}

/** Inputs and outputs of a linear: [in, out] widths. */
function widths(s: LayerShape): Record<LinearName, [number, number]> {
  const H = s.hidden, KV = s.kvHeads * s.headDim, I = s.intermediate;
  return {
    q_proj: [H, H], k_proj: [H, KV], v_proj: [H, KV], o_proj: [H, H],
    gate_proj: [H, I], up_proj: [H, I], down_proj: [I, H],
  };
}

/** Names of the frozen weight inputs, in feed order. */
export const WEIGHT_INPUTS = ["wq", "wk", "wv", "bq", "bk", "bv", "wo", "wg", "wu", "wd", "n1", "n2"] as const;
/** The activations the forward returns for the backward. */
export const SAVED = ["q0", "k0", "v0", "ctx", "x1", "g", "u"] as const;

class Builder {
  readonly nodes: Node[] = [];
  readonly inits: Initializer[] = [];
  readonly inputs: ValueInfo[] = [];
  private n = 0;

  input(name: string, dims: (number | string)[], elemType = 1): string {
    this.inputs.push({ name, elemType, dims });
    return name;
  }

  op(opType: string, inputs: string[], attributes?: Node["attributes"], out = `t${this.n++}`): string {
    this.nodes.push({ opType, inputs, outputs: [out], attributes });
    return out;
  }

  /** com.microsoft FusedMatMul: alpha · op(a) · op(b). */
  mm(a: string, b: string, opts: { tA?: boolean; tB?: boolean; alpha?: number } = {}, out?: string): string {
    const node = this.op("FusedMatMul", [a, b], { transA: opts.tA ? 1 : 0, transB: opts.tB ? 1 : 0, alpha: { float: opts.alpha ?? 1 } }, out);
    this.nodes[this.nodes.length - 1].domain = "com.microsoft";
    return node;
  }

  float(values: number[], dims: number[] = []): string {
    const name = `c${this.n++}`;
    this.inits.push({ name, dims, data: Float32Array.from(values) });
    return name;
  }

  ints(values: number[]): string {
    const name = `i${this.n++}`;
    this.inits.push({ name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
    return name;
  }

  add = (a: string, b: string, out?: string) => this.op("Add", [a, b], undefined, out);
  sub = (a: string, b: string) => this.op("Sub", [a, b]);
  mul = (a: string, b: string, out?: string) => this.op("Mul", [a, b], undefined, out);
  reshape = (x: string, shape: string) => this.op("Reshape", [x, shape]);
  transpose = (x: string, perm: number[]) => this.op("Transpose", [x], { perm });
  sum = (...xs: string[]) => xs.reduce((a, b) => this.add(a, b));
}

/** The pieces both graphs share: the forward (or the recomputation of what it returned) and its inputs. */
class LayerGraph {
  readonly b = new Builder();
  readonly w: Record<LinearName, [number, number]>;
  readonly x: string;
  readonly cos: string;
  readonly sin: string;
  readonly bias: string;
  readonly shapeQ: string;
  readonly shapeKv: string;
  readonly weights: Record<(typeof WEIGHT_INPUTS)[number], string>;
  readonly lora: Partial<Record<LinearName, { a: string; bm: string; mask?: string }>> = {};
  private readonly invSqrtD: number;

  constructor(readonly s: LayerShape, readonly spec: LoraSpec) {
    const b = this.b, H = s.hidden, KV = s.kvHeads * s.headDim, I = s.intermediate;
    this.w = widths(s);
    this.invSqrtD = 1 / Math.sqrt(s.headDim);
    this.x = b.input("x", ["N", H]);
    this.cos = b.input("cos", ["B", 1, "L", s.headDim]);
    this.sin = b.input("sin", ["B", 1, "L", s.headDim]);
    // The additive mask [B, 1, g·L, T], tiled over the g query heads that share a key/value head.
    this.bias = b.input("bias", ["B", 1, "GL", "T"]);
    this.shapeQ = b.input("shape_q", [4], 7); // [B, L, Hq, D]
    this.shapeKv = b.input("shape_kv", [4], 7); // [B, L, Hkv, D]
    const dims: Record<(typeof WEIGHT_INPUTS)[number], number[]> = {
      wq: [H, H], wk: [H, KV], wv: [H, KV], bq: [H], bk: [KV], bv: [KV], wo: [H, H], wg: [H, I], wu: [H, I], wd: [I, H], n1: [H], n2: [H],
    };
    this.weights = Object.fromEntries(WEIGHT_INPUTS.map((n) => [n, b.input(n, dims[n])])) as LayerGraph["weights"];
    for (const l of spec.linears) {
      const [fin, fout] = this.w[l];
      this.lora[l] = {
        a: b.input(`${l}.A`, ["r", fin]),
        bm: b.input(`${l}.B`, [fout, "r"]),
        mask: spec.dropout ? b.input(`${l}.mask`, ["N", fin]) : undefined,
      };
    }
  }

  /** rsqrt(mean(x²) + eps) per row, [N, 1]. */
  invRms(x: string): string {
    const b = this.b;
    const ms = b.op("ReduceMean", [b.mul(x, x)], { axes: [-1], keepdims: 1 });
    return b.op("Reciprocal", [b.op("Sqrt", [b.add(ms, b.float([this.s.eps]))])]);
  }

  rmsNorm(x: string, weight: string): string {
    return this.b.mul(this.b.mul(x, this.invRms(x)), weight);
  }

  /** dropout(x) for an adapter's input (x itself without masks). */
  dropped(l: LinearName, x: string): string {
    const mask = this.lora[l]!.mask;
    return mask ? this.b.mul(x, mask) : x;
  }

  /** y + s·(dropout(x)·Aᵀ)·Bᵀ, with z = dropout(x)·Aᵀ exposed as `${l}.z`. */
  withLora(l: LinearName, x: string, y: string, zName?: string): string {
    const ad = this.lora[l];
    if (!ad) return y;
    const z = this.b.mm(this.dropped(l, x), ad.a, { tB: true }, zName ?? `${l}.z`);
    return this.b.add(y, this.b.mm(z, ad.bm, { tB: true, alpha: this.spec.scaling }));
  }

  /** [N, n·D] -> [B, n, L, D]. */
  heads(t: string, shape: string): string {
    return this.b.transpose(this.b.reshape(t, shape), [0, 2, 1, 3]);
  }

  /** [B, n, L, D] -> [N, n·D]. */
  merge(t: string, n: number): string {
    return this.b.reshape(this.b.transpose(t, [0, 2, 1, 3]), this.b.ints([-1, n * this.s.headDim]));
  }

  /** concat(-x2, x1) over the last axis, and its transpose concat(x2, -x1). */
  rotate(t: string, transposed: boolean): string {
    const b = this.b, half = this.s.headDim / 2;
    const x1 = `${t}.h1`, x2 = `${t}.h2`;
    b.nodes.push({ opType: "Split", inputs: [t, b.ints([half, half])], outputs: [x1, x2], attributes: { axis: -1 } });
    return b.op("Concat", transposed ? [x2, b.op("Neg", [x1])] : [b.op("Neg", [x2]), x1], { axis: -1 });
  }

  rope(t: string): string {
    return this.b.add(this.b.mul(t, this.cos), this.b.mul(this.rotate(t, false), this.sin));
  }

  ropeBackward(dt: string): string {
    return this.b.add(this.b.mul(dt, this.cos), this.rotate(this.b.mul(dt, this.sin), true));
  }

  /** Query heads grouped by their key/value head: [B, Hq, L, D] -> [B, Hkv, g·L, D]. */
  grouped(t: string): string {
    return this.b.reshape(t, this.b.ints([0, this.s.kvHeads, -1, this.s.headDim]));
  }

  /**
   * The attention's RoPE'd q (grouped), k, v heads and probabilities from q0, k0, v0; with a cache, k and v
   * follow the past keys and values [B, Hkv, P, D] (and are the cache's new contents).
   */
  attention(q0: string, k0: string, v0: string, past?: { k: string; v: string }): { qg: string; k: string; v: string; p: string } {
    const b = this.b;
    const qg = this.grouped(this.rope(this.heads(q0, this.shapeQ)));
    let k = this.rope(this.heads(k0, this.shapeKv));
    let v = this.heads(v0, this.shapeKv);
    if (past) {
      k = b.op("Concat", [past.k, k], { axis: 2 });
      v = b.op("Concat", [past.v, v], { axis: 2 });
    }
    const scores = b.add(b.mm(qg, k, { tB: true, alpha: this.invSqrtD }), this.bias);
    return { qg, k, v, p: b.op("Softmax", [scores], { axis: -1 }) };
  }

  /**
   * The whole forward: "y", and the SAVED activations and each adapter's z under their names; with `past`
   * (inference with a KV cache) also the keys and values after this call's, "k" and "v".
   */
  forward(past?: { k: string; v: string }): void {
    const b = this.b, W = this.weights, s = this.s;
    const h = this.rmsNorm(this.x, W.n1);
    b.op("Identity", [this.withLora("q_proj", h, b.op("Gemm", [h, W.wq, W.bq]))], undefined, "q0");
    b.op("Identity", [this.withLora("k_proj", h, b.op("Gemm", [h, W.wk, W.bk]))], undefined, "k0");
    b.op("Identity", [this.withLora("v_proj", h, b.op("Gemm", [h, W.wv, W.bv]))], undefined, "v0");
    const { p, k, v } = this.attention("q0", "k0", "v0", past);
    if (past) {
      b.op("Identity", [k], undefined, "k");
      b.op("Identity", [v], undefined, "v");
    }
    const ctx = this.merge(b.reshape(b.op("MatMul", [p, v]), b.ints([0, s.heads, -1, s.headDim])), s.heads);
    b.op("Identity", [ctx], undefined, "ctx");
    b.add(this.x, this.withLora("o_proj", "ctx", b.op("MatMul", ["ctx", W.wo])), "x1");
    const h2 = this.rmsNorm("x1", W.n2);
    b.op("Identity", [this.withLora("gate_proj", h2, b.op("MatMul", [h2, W.wg]))], undefined, "g");
    b.op("Identity", [this.withLora("up_proj", h2, b.op("MatMul", [h2, W.wu]))], undefined, "u");
    const act = b.mul(b.mul("g", b.op("Sigmoid", ["g"])), "u");
    b.add("x1", this.withLora("down_proj", act, b.op("MatMul", [act, W.wd])), "y");
  }

  /** An adapter's gradients (outputs `${l}.dA`, `${l}.dB`) and its part of dL/dx, given dL/dy. */
  loraBackward(l: LinearName, dOut: string, x: string): string[] {
    const ad = this.lora[l], b = this.b;
    if (!ad) return [];
    b.mm(dOut, `${l}.z`, { tA: true, alpha: this.spec.scaling }, `${l}.dB`); // [out, r]
    const dz = b.mm(dOut, ad.bm, { alpha: this.spec.scaling }); // [N, r]
    b.mm(dz, this.dropped(l, x), { tA: true }, `${l}.dA`); // [r, in]
    const dx = b.mm(dz, ad.a); // [N, in]
    return [ad.mask ? b.mul(dx, ad.mask) : dx];
  }

  /** dL/dx of rmsnorm(x)·w: r·(dh·w − x·r²·mean(dh·w·x)), r = rsqrt(mean(x²) + eps). */
  rmsBackward(x: string, weight: string, dh: string): string {
    const b = this.b;
    const r = this.invRms(x);
    const dxh = b.mul(dh, weight);
    const m = b.op("ReduceMean", [b.mul(dxh, x)], { axes: [-1], keepdims: 1 });
    return b.mul(r, b.sub(dxh, b.mul(x, b.mul(b.mul(r, r), m))));
  }

  /** dx and every adapter's dA, dB from "dy" and the forward's saved activations (inputs or recomputed). */
  backward(): void {
    const b = this.b, W = this.weights, s = this.s, one = b.float([1]);
    // MLP: y = x1 + (silu(g)·u)·Wd
    const sg = b.op("Sigmoid", ["g"]);
    const silu = b.mul("g", sg);
    const act = b.mul(silu, "u");
    const dact = b.sum(b.mm("dy", W.wd, { tB: true }), ...this.loraBackward("down_proj", "dy", act));
    // silu'(g) = σ(g)·(1 + g·(1 − σ(g)))
    const dg = b.mul(b.mul(dact, "u"), b.mul(sg, b.add(one, b.mul("g", b.sub(one, sg)))));
    const du = b.mul(dact, silu);
    const h2 = this.rmsNorm("x1", W.n2);
    const dh2 = b.sum(
      b.mm(dg, W.wg, { tB: true }), b.mm(du, W.wu, { tB: true }),
      ...this.loraBackward("gate_proj", dg, h2), ...this.loraBackward("up_proj", du, h2),
    );
    const dx1 = b.add("dy", this.rmsBackward("x1", W.n2, dh2));
    // Attention: x1 = x + ctx·Wo, ctx = softmax(q·kᵀ/√D + bias)·v by heads
    const dctx = b.sum(b.mm(dx1, W.wo, { tB: true }), ...this.loraBackward("o_proj", dx1, "ctx"));
    const dctxg = this.grouped(this.heads(dctx, this.shapeQ));
    const { qg, k, v, p } = this.attention("q0", "k0", "v0");
    const dp = b.mm(dctxg, v, { tB: true });
    const dv = b.mm(p, dctxg, { tA: true });
    const dscores = b.mul(p, b.sub(dp, b.op("ReduceSum", [b.mul(dp, p), b.ints([-1])], { keepdims: 1 })));
    const dqg = b.mm(dscores, k, { alpha: this.invSqrtD });
    const dk = b.mm(dscores, qg, { tA: true, alpha: this.invSqrtD });
    const dq0 = this.merge(this.ropeBackward(b.reshape(dqg, b.ints([0, s.heads, -1, s.headDim]))), s.heads);
    const dk0 = this.merge(this.ropeBackward(dk), s.kvHeads);
    const dv0 = this.merge(dv, s.kvHeads);
    const h = this.rmsNorm(this.x, W.n1);
    const dh = b.sum(
      b.mm(dq0, W.wq, { tB: true }), b.mm(dk0, W.wk, { tB: true }), b.mm(dv0, W.wv, { tB: true }),
      ...this.loraBackward("q_proj", dq0, h), ...this.loraBackward("k_proj", dk0, h), ...this.loraBackward("v_proj", dv0, h),
    );
    b.add(dx1, this.rmsBackward(this.x, W.n1, dh), "dx");
  }

  graph(name: string, outputs: ValueInfo[]): Graph {
    return { name, nodes: this.b.nodes, inputs: this.b.inputs, outputs, initializers: this.b.inits };
  }
}

/** Output shapes of the saved activations and adapters' z. */
function savedInfo(g: LayerGraph): ValueInfo[] {
  const H = g.s.hidden, KV = g.s.kvHeads * g.s.headDim, I = g.s.intermediate;
  const dims: Record<(typeof SAVED)[number], number> = { q0: H, k0: KV, v0: KV, ctx: H, x1: H, g: I, u: I };
  return [
    ...SAVED.map((n) => ({ name: n, elemType: 1, dims: ["N", dims[n]] })),
    ...g.spec.linears.map((l) => ({ name: `${l}.z`, elemType: 1, dims: ["N", "r"] })),
  ];
}

/** The forward graph: inputs x, cos, sin, bias, shapes, weights, adapters (and masks); outputs y and the saved activations. */
export function forwardGraph(shape: LayerShape, spec: LoraSpec): Graph {
  const g = new LayerGraph(shape, spec);
  g.forward();
  return g.graph("lora_layer_forward", [{ name: "y", elemType: 1, dims: ["N", shape.hidden] }, ...savedInfo(g)]);
}

/**
 * The inference graph: the forward with a KV cache — inputs past_k, past_v [B, Hkv, P, D] (P may be 0) besides
 * the forward's (adapters without dropout); outputs y and the cache's new keys and values "k", "v" [B, Hkv, P + L, D].
 */
export function inferenceGraph(shape: LayerShape, spec: LoraSpec): Graph {
  const g = new LayerGraph(shape, { ...spec, dropout: false });
  const dims = ["B", shape.kvHeads, "P", shape.headDim];
  g.forward({ k: g.b.input("past_k", dims), v: g.b.input("past_v", dims) });
  const kv = ["B", shape.kvHeads, "T", shape.headDim];
  return g.graph("layer_inference", [
    { name: "y", elemType: 1, dims: ["N", shape.hidden] },
    { name: "k", elemType: 1, dims: kv },
    { name: "v", elemType: 1, dims: kv },
  ]);
}

/**
 * The backward graph: the forward's inputs plus "dy" and, when `saved`, the saved activations; outputs dx and
 * each adapter's dA, dB. Without `saved` it recomputes the forward first.
 */
export function backwardGraph(shape: LayerShape, spec: LoraSpec, saved: boolean): Graph {
  const g = new LayerGraph(shape, spec);
  g.b.input("dy", ["N", shape.hidden]);
  if (saved) for (const v of savedInfo(g)) g.b.input(v.name, v.dims);
  else g.forward();
  g.backward();
  const w = widths(shape);
  return g.graph(`lora_layer_backward${saved ? "" : "_recompute"}`, [
    { name: "dx", elemType: 1, dims: ["N", shape.hidden] },
    ...spec.linears.flatMap((l) => [
      { name: `${l}.dA`, elemType: 1, dims: ["r", w[l][0]] },
      { name: `${l}.dB`, elemType: 1, dims: [w[l][1], "r"] },
    ]),
  ]);
}
