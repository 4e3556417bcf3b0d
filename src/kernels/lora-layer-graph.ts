/**
 * A Qwen2 decoder layer with LoRA adapters as two ONNX graphs, forward and backward, for training on ONNX
 * Runtime: one call per layer and pass instead of ~150 tfjs kernels and ~40 ORT products, and the
 * element-wise chains (RMSNorm, RoPE, softmax, SwiGLU, the LoRA branches and all their gradients) run on
 * ORT's threads. Shapes (N = B·L rows, H hidden, D = head dim, Hq/Hkv heads, g = Hq/Hkv, I intermediate):
 *   x [N, H] -> h = rmsnorm(x)·n1 -> q0, k0, v0 = h·W + b (+ LoRA) -> heads, RoPE -> softmax(q·kᵀ/√D + mask)·v
 *   -> ctx [N, H] -> x1 = x + ctx·Wo (+ LoRA) -> h2 = rmsnorm(x1)·n2 -> g, u = h2·W (+ LoRA)
 *   -> y = x1 + (silu(g)·u)·Wd (+ LoRA)
 * Attention never holds a [heads, L, T] tensor: the queries go through it in tiles of rows (an ONNX Loop), each
 * tile against the keys up to its last row (the causal mask makes the later ones invisible), and the backward
 * recomputes each tile's probabilities (see `attention`). The mask is built in the graph from the positions
 * (causal) and a per-key additive bias (padding), so nothing of size L·T is fed either.
 * The frozen weights are graph inputs, read in place from the tfjs tensors (no second copy). The forward
 * also returns what the backward needs (SAVED: the norms' outputs and inverse RMS, the attention's rotated
 * query and key heads and value heads, ctx, x1, g, u, and each adapter's z = dropout(x)·Aᵀ); a backward
 * without them recomputes the forward first. RMSNorm, and the residual add before the second, are ORT's
 * (Skip)SimplifiedLayerNormalization; RoPE is its RotaryEmbedding, which rotates the other way for the
 * backward (the rotation's transpose) with −sin. LoRA: y += s·(dropout(x)·Aᵀ)·Bᵀ (peft), the masks are inputs
 * (0 or 1/(1 − p)), and the adapters' gradients are dB = s·dyᵀ·z, dA = (s·dy·B)ᵀ·dropout(x).
 */
import type { Graph, Initializer, Node, ValueInfo } from "./onnx-proto.js";

/** The linears of a Qwen2 decoder layer, by their checkpoint names (self_attn's, then mlp's). */
export const LINEAR_NAMES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] as const;
export type LinearName = (typeof LINEAR_NAMES)[number];

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

/**
 * What attention adds to a query's score for a padded key (the key bias) and for a key after the query's position
 * (the causal mask). FUTURE is below PADDING, so a query whose visible keys are all padding (a left-padded prompt's
 * first rows) spreads over those and not over the future: its output then does not depend on how rows are tiled.
 */
export const MASK = { PADDING: -1e9, FUTURE: -2e9 } as const;

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
/** What the forward returns for the backward (besides each adapter's `${linear}.z`). */
export const SAVED = ["h", "r1", "qg", "k", "v", "ctx", "x1", "r2", "h2", "g", "u"] as const;

/**
 * The dims of each SAVED output and adapter z, in terms of the batch's dims: symbolic for the graphs' value infos,
 * numbers for a run's buffers. N = B·L rows, GL = g·L (the query heads grouped by key/value head), r the rank.
 */
export function savedDims<T extends number | string>(s: LayerShape, spec: LoraSpec, d: { N: T; B: T; L: T; GL: T; r: T }): Record<string, (number | T)[]> {
  const { N, B, L, GL, r } = d, H = s.hidden, I = s.intermediate, Hkv = s.kvHeads, D = s.headDim;
  return {
    h: [N, H], r1: [N, 1], qg: [B, Hkv, GL, D], k: [B, Hkv, L, D], v: [B, Hkv, L, D],
    ctx: [N, H], x1: [N, H], r2: [N, 1], h2: [N, H], g: [N, I], u: [N, I],
    ...Object.fromEntries(spec.linears.map((l) => [`${l}.z`, [N, r]])),
  };
}

class Builder {
  readonly nodes: Node[] = [];
  readonly inits: Initializer[] = [];
  readonly inputs: ValueInfo[] = [];

  /** `names` numbers values across a graph and its subgraphs (a subgraph may not reuse an outer name). */
  constructor(private readonly names = { n: 0 }, private readonly root?: Builder) {}

  /** A builder for a subgraph (a Loop's body): its constants go to the outermost graph, which it can read. */
  subgraph(): Builder {
    return new Builder(this.names, this.root ?? this);
  }

  input(name: string, dims: (number | string)[], elemType = 1): string {
    this.inputs.push({ name, elemType, dims });
    return name;
  }

  op(opType: string, inputs: string[], attributes?: Node["attributes"], out = `t${this.names.n++}`): string {
    this.nodes.push({ opType, inputs, outputs: [out], attributes });
    return out;
  }

  /** An operator of ORT's com.microsoft domain. */
  msOp(opType: string, inputs: string[], attributes?: Node["attributes"], out?: string): string {
    const node = this.op(opType, inputs, attributes, out);
    this.nodes[this.nodes.length - 1].domain = "com.microsoft";
    return node;
  }

  /** FusedMatMul: alpha · op(a) · op(b). */
  mm(a: string, b: string, opts: { tA?: boolean; tB?: boolean; alpha?: number } = {}, out?: string): string {
    return this.msOp("FusedMatMul", [a, b], { transA: opts.tA ? 1 : 0, transB: opts.tB ? 1 : 0, alpha: { float: opts.alpha ?? 1 } }, out);
  }

  float(values: number[], dims: number[] = []): string {
    const name = `c${this.names.n++}`;
    (this.root ?? this).inits.push({ name, dims, data: Float32Array.from(values) });
    return name;
  }

  ints(values: number[]): string {
    const name = `i${this.names.n++}`;
    (this.root ?? this).inits.push({ name, dims: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
    return name;
  }

  /** A fresh value name (for a node with several outputs). */
  name(): string {
    return `t${this.names.n++}`;
  }

  /** An int64 scalar constant. */
  int(value: number): string {
    const name = `i${this.names.n++}`;
    (this.root ?? this).inits.push({ name, dims: [], data: BigInt64Array.of(BigInt(value)) });
    return name;
  }

  /** A [1] int64 as the scalar Range and Loop take. */
  scalar = (x: string) => this.reshape(x, this.ints([]));

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
  readonly keyBias: string;
  readonly tile: string;
  readonly shapeQ: string;
  readonly shapeKv: string;
  /** RoPE's tables as RotaryEmbedding takes them: a row [D/2] per token (row b·L + t for token t of sequence b). */
  readonly ropeRows: { pos: string; cos: string; sin: string };
  readonly weights: Record<(typeof WEIGHT_INPUTS)[number], string>;
  readonly lora: Partial<Record<LinearName, { a: string; bm: string; mask?: string }>> = {};
  private readonly invSqrtD: number;
  private negSin?: string;
  /** The key bias as [B, 1, 1, 1, T], to add to a tile's scores [B, Hkv, g, t, T]. */
  private keyBias5?: string;

  constructor(readonly s: LayerShape, readonly spec: LoraSpec, readonly tiled: boolean) {
    const b = this.b, H = s.hidden, KV = s.kvHeads * s.headDim, I = s.intermediate, half = s.headDim / 2;
    this.w = widths(s);
    this.invSqrtD = 1 / Math.sqrt(s.headDim);
    this.x = b.input("x", ["N", H]);
    // cos and sin [B, 1, L, D] repeat their first half: RotaryEmbedding takes the half, one row per token.
    const rows = (t: string) => b.reshape(b.op("Slice", [t, b.ints([0]), b.ints([half]), b.ints([3])]), b.ints([-1, half]));
    this.ropeRows = {
      cos: rows(b.input("cos", ["B", 1, "L", s.headDim])),
      sin: rows(b.input("sin", ["B", 1, "L", s.headDim])),
      pos: b.input("pos", ["B", "L"], 7), // b·L + t
    };
    // 0 for a real key, PADDING for a padded one: [B, T] (T = past + L).
    this.keyBias = b.input("key_bias", ["B", "T"]);
    // Rows of queries per attention tile (the tiled graphs).
    this.tile = tiled ? b.input("tile", [1], 7) : "";
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

  /** rmsnorm(x)·weight and its inverse RMS per row [N, 1], as `out` and `${outR}`. */
  rmsNorm(x: string, weight: string, out: string, outR: string): void {
    this.b.nodes.push({ opType: "SimplifiedLayerNormalization", inputs: [x, weight], outputs: [out, outR], attributes: { axis: -1, epsilon: { float: this.s.eps } } });
  }

  /** dropout(x) for an adapter's input (x itself without masks). */
  dropped(l: LinearName, x: string): string {
    const mask = this.lora[l]!.mask;
    return mask ? this.b.mul(x, mask) : x;
  }

  /** y + s·(dropout(x)·Aᵀ)·Bᵀ (as `out`), with z = dropout(x)·Aᵀ exposed as `${l}.z`. */
  withLora(l: LinearName, x: string, y: (out?: string) => string, out?: string): string {
    const ad = this.lora[l];
    if (!ad) return y(out);
    const z = this.b.mm(this.dropped(l, x), ad.a, { tB: true }, `${l}.z`);
    return this.b.add(y(), this.b.mm(z, ad.bm, { tB: true, alpha: this.spec.scaling }), out);
  }

  /** [N, n·D] -> [B, n, L, D]. */
  heads(t: string, shape: string, out?: string): string {
    return this.b.op("Transpose", [this.b.reshape(t, shape)], { perm: [0, 2, 1, 3] }, out);
  }

  /** [B, n, L, D] -> [N, n·D]. */
  merge(t: string, n: number, out?: string): string {
    return this.b.op("Reshape", [this.b.transpose(t, [0, 2, 1, 3]), this.b.ints([-1, n * this.s.headDim])], undefined, out);
  }

  /** Rotary embeddings of heads [B, n, L, D]; `inverse` rotates back (the backward's transpose of the rotation). */
  rope(t: string, inverse: boolean, out?: string): string {
    const { pos, cos, sin } = this.ropeRows;
    if (inverse) this.negSin ??= this.b.op("Neg", [sin]);
    return this.b.msOp("RotaryEmbedding", [t, pos, cos, inverse ? this.negSin! : sin], undefined, out);
  }

  /** Query heads grouped by their key/value head: [B, Hq, L, D] <-> [B, Hkv, g·L, D]. */
  grouped(t: string, out?: string): string {
    return this.b.op("Reshape", [t, this.b.ints([0, this.s.kvHeads, -1, this.s.headDim])], undefined, out);
  }

  ungrouped(t: string): string {
    return this.b.reshape(t, this.b.ints([0, this.s.heads, -1, this.s.headDim]));
  }

  /** The attention's lengths as [1] int64: L query rows, T keys, and the past keys before the first query. */
  private lengths(k: string): { L: string; T: string; past: string } {
    const b = this.b;
    const L = b.op("Slice", [this.shapeQ, b.ints([1]), b.ints([2])]);
    const T = b.op("Shape", [k], { start: 2, end: 3 });
    return { L, T, past: b.sub(T, L) };
  }

  /**
   * One tile's probabilities, emitted into `b` (this graph or a Loop's body): queries q [B, Hkv, g·t, D] whose rows
   * are query rows [start, start + t) of each of the g heads (t = `rows`), against keys [0, kend):
   * softmax(q·kᵀ/√D + causal + key bias) [B, Hkv, g·t, kend] (MASK says why the two masks differ).
   */
  private tileProbabilities(b: Builder, q: string, k: string, start: string, rows: string, kend: string, past: string): string {
    const g = this.s.heads / this.s.kvHeads;
    const first = b.scalar(b.add(past, start));
    const positions = b.op("Unsqueeze", [b.op("Range", [first, b.add(first, b.scalar(rows)), b.int(1)]), b.ints([1])]); // [t, 1]
    const keys = b.op("Range", [b.int(0), b.scalar(kend), b.int(1)]); // [kend]
    const causal = b.op("Where", [b.op("Greater", [keys, positions]), b.float([MASK.FUTURE]), b.float([0])]); // [t, kend]
    const scores = b.reshape(b.mm(q, k, { tB: true, alpha: this.invSqrtD }), b.op("Concat", [b.ints([0, 0, g]), rows, b.ints([-1])], { axis: 0 }));
    const keyBias = b.op("Slice", [this.keyBias5!, b.ints([0]), kend, b.ints([4])]); // [B, 1, 1, 1, kend]
    // (the two masks summed first: [B, 1, 1, t, kend], one pass less over the tile's scores)
    const p = b.op("Softmax", [b.add(scores, b.add(causal, keyBias))], { axis: -1 }); // [B, Hkv, g, t, kend]
    return b.reshape(p, b.op("Concat", [b.ints([0, 0, -1]), kend], { axis: 0 }));
  }

  /**
   * One tile of attention, emitted into `b`: queries q [B, Hkv, g·t, D] (rows [start, start + t) of each head) over
   * the keys and values before `kend`. Forward (no `dOut`): the context rows [B, Hkv, g·t, D]. Backward, given dOut
   * (the context's gradient, q's layout): dq for these rows, and this tile's parts of dk and dv [B, Hkv, kend, D]
   * (the probabilities recomputed: p·(dp − Σ dp·p) is softmax's backward).
   */
  private attentionTile(b: Builder, q: string, dOut: string | undefined, kv: { k: string; v: string }, start: string, rows: string, kend: string, past: string) {
    const k = b.op("Slice", [kv.k, b.ints([0]), kend, b.ints([2])]);
    const v = b.op("Slice", [kv.v, b.ints([0]), kend, b.ints([2])]);
    const p = this.tileProbabilities(b, q, k, start, rows, kend, past);
    if (!dOut) return { ctx: b.op("MatMul", [p, v]) };
    const dp = b.mm(dOut, v, { tB: true });
    const ds = b.mul(p, b.sub(dp, b.op("ReduceSum", [b.mul(dp, p), b.ints([-1])], { keepdims: 1 })));
    return {
      dq: b.mm(ds, k, { alpha: this.invSqrtD }),
      dk: b.mm(ds, q, { tA: true, alpha: this.invSqrtD }),
      dv: b.mm(p, dOut, { tA: true }),
    };
  }

  /**
   * Attention of the grouped queries qg [B, Hkv, g·L, D] over k, v [B, Hkv, T, D], the keys of the past first.
   * Forward: the context [B, Hq, L, D]. Backward, given dOut (the context's gradient as [B, Hkv, g·L, D]): dq
   * [B, Hq, L, D], dk and dv [B, Hkv, T, D]. Untiled graphs take the L rows as one tile. Tiled graphs loop over tiles
   * of `tile` rows (zero rows pad the last), each against the keys up to its last row's position; dk and dv are
   * summed over the tiles in the loop's carried values, dq and the context come out of it tile by tile.
   */
  attention(qg: string, kv: { k: string; v: string }, dOut?: string): { ctx?: string; dq?: string; dk?: string; dv?: string } {
    const b = this.b, s = this.s, D = s.headDim, g = s.heads / s.kvHeads;
    this.keyBias5 ??= b.reshape(this.keyBias, b.ints([0, 1, 1, 1, -1]));
    const { L, T, past } = this.lengths(kv.k);
    if (!this.tiled) {
      const first = b.nodes.length;
      const r = this.attentionTile(b, qg, dOut, kv, b.ints([0]), L, T, past);
      // (named as the tiled graphs' loop body is, so that a profile counts them as attention)
      b.nodes.slice(first).forEach((n, i) => (n.name = `attention_tile/${n.opType}_${first + i}`));
      return r.ctx ? { ctx: this.ungrouped(r.ctx) } : { dq: this.ungrouped(r.dq!), dk: r.dk, dv: r.dv };
    }
    const tile = this.tile;
    const count = b.op("Div", [b.add(L, b.sub(tile, b.ints([1]))), tile]);
    // [B, Hkv, g·L, D] -> [B, Hkv, g, L', D], zero rows up to a whole number of tiles
    const pads = b.op("Concat", [b.ints([0, 0, 0, 0, 0, 0, 0, 0]), b.sub(b.mul(count, tile), L), b.ints([0])], { axis: 0 });
    const padded = (t: string) => b.op("Pad", [b.reshape(t, b.ints([0, s.kvHeads, g, -1, D])), pads]);
    const qPad = padded(qg);
    const dPad = dOut && padded(dOut);
    const body = b.subgraph();
    const iter = body.input("i", [], 7);
    const cond = body.input("cond", [], 9);
    const carried = dOut ? [body.input("dk_in", ["B", s.kvHeads, "T", D]), body.input("dv_in", ["B", s.kvHeads, "T", D])] : [];
    const start = body.mul(body.reshape(iter, body.ints([1])), tile);
    const end = body.add(start, tile);
    const rowsOf = (t: string) => body.reshape(body.op("Slice", [t, start, end, body.ints([3])]), body.ints([0, 0, -1, D]));
    const kend = body.op("Min", [T, body.add(past, end)]);
    const r = this.attentionTile(body, rowsOf(qPad), dPad && rowsOf(dPad), kv, start, tile, kend, past);
    const outputs: ValueInfo[] = [{ name: body.op("Identity", [cond]), elemType: 9, dims: [] }];
    if (dOut) {
      // this tile's dk and dv cover keys [0, kend): zeros after them
      const after = body.op("Concat", [body.ints([0, 0, 0, 0, 0, 0]), body.sub(T, kend), body.ints([0])], { axis: 0 });
      for (const [i, part] of [r.dk!, r.dv!].entries()) {
        outputs.push({ name: body.add(carried[i], body.op("Pad", [part, after])), elemType: 1, dims: ["B", s.kvHeads, "T", D] });
      }
    }
    outputs.push({ name: (r.ctx ?? r.dq)!, elemType: 1, dims: ["B", s.kvHeads, "GT", D] });
    const init = dOut ? [b.op("ConstantOfShape", [b.op("Shape", [kv.k])]), b.op("ConstantOfShape", [b.op("Shape", [kv.v])])] : [];
    const loopOutputs = dOut ? [b.name(), b.name(), b.name()] : [b.name()];
    b.nodes.push({
      opType: "Loop", inputs: [b.scalar(count), "", ...init], outputs: loopOutputs,
      attributes: { body: { name: "attention_tile", nodes: body.nodes, inputs: body.inputs, outputs } },
    });
    // scan output [count, B, Hkv, g·t, D] -> [B, Hq, L, D]
    const tiles = loopOutputs.at(-1)!;
    const split = b.reshape(tiles, b.op("Concat", [b.ints([0, 0, s.kvHeads, g]), tile, b.ints([D])], { axis: 0 }));
    const rows = b.reshape(b.transpose(split, [1, 2, 3, 0, 4, 5]), b.ints([0, s.heads, -1, D]));
    const out = b.op("Slice", [rows, b.ints([0]), L, b.ints([2])]);
    return dOut ? { dq: out, dk: loopOutputs[0], dv: loopOutputs[1] } : { ctx: out };
  }

  /**
   * The whole forward: "y", and the SAVED tensors and each adapter's z under their names; with `past`
   * (inference with a KV cache) the keys and values "k" and "v" follow the past ones [B, Hkv, P, D] (the cache's new
   * contents).
   */
  forward(past?: { k: string; v: string }): void {
    const b = this.b, W = this.weights, s = this.s;
    this.rmsNorm(this.x, W.n1, "h", "r1");
    const q0 = this.withLora("q_proj", "h", () => b.op("Gemm", ["h", W.wq, W.bq]));
    const k0 = this.withLora("k_proj", "h", () => b.op("Gemm", ["h", W.wk, W.bk]));
    const v0 = this.withLora("v_proj", "h", () => b.op("Gemm", ["h", W.wv, W.bv]));
    this.grouped(this.rope(this.heads(q0, this.shapeQ), false), "qg");
    if (past) {
      b.op("Concat", [past.k, this.rope(this.heads(k0, this.shapeKv), false)], { axis: 2 }, "k");
      b.op("Concat", [past.v, this.heads(v0, this.shapeKv)], { axis: 2 }, "v");
    } else {
      this.rope(this.heads(k0, this.shapeKv), false, "k");
      this.heads(v0, this.shapeKv, "v");
    }
    this.merge(this.attention("qg", { k: "k", v: "v" }).ctx!, s.heads, "ctx");
    const o = this.withLora("o_proj", "ctx", () => b.op("MatMul", ["ctx", W.wo]));
    // x1 = x + o and h2 = rmsnorm(x1)·n2 in one node
    b.nodes.push({ opType: "SkipSimplifiedLayerNormalization", domain: "com.microsoft", inputs: [this.x, o, W.n2], outputs: ["h2", "", "r2", "x1"], attributes: { epsilon: { float: s.eps } } });
    this.withLora("gate_proj", "h2", (out) => b.op("MatMul", ["h2", W.wg], undefined, out), "g");
    this.withLora("up_proj", "h2", (out) => b.op("MatMul", ["h2", W.wu], undefined, out), "u");
    const act = b.mul(b.mul("g", b.op("Sigmoid", ["g"])), "u");
    b.add("x1", this.withLora("down_proj", act, () => b.op("MatMul", [act, W.wd])), "y");
  }

  /** An adapter's gradients (outputs `${l}.dA`, `${l}.dB`) and (unless `dxToo` is false) its part of dL/dx, given dL/dy. */
  loraBackward(l: LinearName, dOut: string, x: string, dxToo = true): string[] {
    const ad = this.lora[l], b = this.b;
    if (!ad) return [];
    b.mm(dOut, `${l}.z`, { tA: true, alpha: this.spec.scaling }, `${l}.dB`); // [out, r]
    const dz = b.mm(dOut, ad.bm, { alpha: this.spec.scaling }); // [N, r]
    b.mm(dz, this.dropped(l, x), { tA: true }, `${l}.dA`); // [r, in]
    if (!dxToo) return [];
    const dx = b.mm(dz, ad.a); // [N, in]
    return [ad.mask ? b.mul(dx, ad.mask) : dx];
  }

  /** dL/dx of rmsnorm(x)·w from dL/d(output) and r = rsqrt(mean(x²) + eps) [N, 1]: r·(dh·w − x·r²·mean(dh·w·x)). */
  rmsBackward(x: string, weight: string, r: string, dh: string): string {
    const b = this.b;
    const dxh = b.mul(dh, weight);
    const m = b.op("ReduceMean", [b.mul(dxh, x)], { axes: [-1], keepdims: 1 });
    return b.mul(r, b.sub(dxh, b.mul(x, b.mul(b.mul(r, r), m))));
  }

  /**
   * Every adapter's dA, dB and (with `inputGrad`) dx from "dy" and the forward's saved tensors (inputs or
   * recomputed). Without dx the q/k/v products back to the layer's input and the first norm's backward are left out.
   */
  backward(inputGrad: boolean): void {
    const b = this.b, W = this.weights, s = this.s, one = b.float([1]);
    // MLP: y = x1 + (silu(g)·u)·Wd
    const sg = b.op("Sigmoid", ["g"]);
    const silu = b.mul("g", sg);
    const act = b.mul(silu, "u");
    const dact = b.sum(b.mm("dy", W.wd, { tB: true }), ...this.loraBackward("down_proj", "dy", act));
    // silu'(g) = σ(g)·(1 + g·(1 − σ(g)))
    const dg = b.mul(b.mul(dact, "u"), b.mul(sg, b.add(one, b.mul("g", b.sub(one, sg)))));
    const du = b.mul(dact, silu);
    const dh2 = b.sum(
      b.mm(dg, W.wg, { tB: true }), b.mm(du, W.wu, { tB: true }),
      ...this.loraBackward("gate_proj", dg, "h2"), ...this.loraBackward("up_proj", du, "h2"),
    );
    const dx1 = b.add("dy", this.rmsBackward("x1", W.n2, "r2", dh2));
    // Attention: x1 = x + ctx·Wo, ctx = softmax(q·kᵀ/√D + bias)·v by heads
    const dctx = b.sum(b.mm(dx1, W.wo, { tB: true }), ...this.loraBackward("o_proj", dx1, "ctx"));
    const { dq, dk, dv } = this.attention("qg", { k: "k", v: "v" }, this.grouped(this.heads(dctx, this.shapeQ)));
    const dq0 = this.merge(this.rope(dq!, true), s.heads);
    const dk0 = this.merge(this.rope(dk!, true), s.kvHeads);
    const dv0 = this.merge(dv!, s.kvHeads);
    const lora = [...this.loraBackward("q_proj", dq0, "h", inputGrad), ...this.loraBackward("k_proj", dk0, "h", inputGrad), ...this.loraBackward("v_proj", dv0, "h", inputGrad)];
    if (!inputGrad) return;
    const dh = b.sum(b.mm(dq0, W.wq, { tB: true }), b.mm(dk0, W.wk, { tB: true }), b.mm(dv0, W.wv, { tB: true }), ...lora);
    b.add(dx1, this.rmsBackward(this.x, W.n1, "r1", dh), "dx");
  }

  graph(name: string, outputs: ValueInfo[]): Graph {
    return { name, nodes: this.b.nodes, inputs: this.b.inputs, outputs, initializers: this.b.inits };
  }
}

/** Output infos of the saved tensors and adapters' z (symbolic batch dims). */
function savedInfo(g: LayerGraph): ValueInfo[] {
  const dims = savedDims(g.s, g.spec, { N: "N", B: "B", L: "L", GL: "GL", r: "r" });
  return [...SAVED, ...g.spec.linears.map((l) => `${l}.z`)].map((name) => ({ name, elemType: 1, dims: dims[name] }));
}

/**
 * The forward graph: inputs x, cos, sin, pos, key_bias, shapes (and, `tiled`, tile), weights, adapters (and masks);
 * outputs y and the saved tensors.
 */
export function forwardGraph(shape: LayerShape, spec: LoraSpec, tiled: boolean): Graph {
  const g = new LayerGraph(shape, spec, tiled);
  g.forward();
  return g.graph("lora_layer_forward", [{ name: "y", elemType: 1, dims: ["N", shape.hidden] }, ...savedInfo(g)]);
}

/**
 * The inference graph: the forward with a KV cache — inputs past_k, past_v [B, Hkv, P, D] (P may be 0) besides
 * the forward's (adapters without dropout); outputs y and the cache's new keys and values "k", "v" [B, Hkv, P + L, D].
 */
export function inferenceGraph(shape: LayerShape, spec: LoraSpec, tiled: boolean): Graph {
  const g = new LayerGraph(shape, { ...spec, dropout: false }, tiled);
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
 * The backward graph: the forward's inputs plus "dy" and, when `saved`, the saved tensors; outputs each adapter's
 * dA, dB and, with `inputGrad`, dx. Without `saved` it recomputes the forward first.
 */
export function backwardGraph(shape: LayerShape, spec: LoraSpec, saved: boolean, inputGrad: boolean, tiled: boolean): Graph {
  const g = new LayerGraph(shape, spec, tiled);
  g.b.input("dy", ["N", shape.hidden]);
  if (saved) for (const v of savedInfo(g)) g.b.input(v.name, v.dims);
  else g.forward();
  g.backward(inputGrad);
  const w = widths(shape);
  return g.graph(`lora_layer_backward${saved ? "" : "_recompute"}${inputGrad ? "" : "_no_dx"}${tiled ? "_tiled" : ""}`, [
    ...(inputGrad ? [{ name: "dx", elemType: 1, dims: ["N", shape.hidden] }] : []),
    ...spec.linears.flatMap((l) => [
      { name: `${l}.dA`, elemType: 1, dims: ["r", w[l][0]] },
      { name: `${l}.dB`, elemType: 1, dims: [w[l][1], "r"] },
    ]),
  ]);
}
