/**
 * A linear layer whose weight never trains (the base model under LoRA): y = x·W (+ b), with a custom
 * gradient that returns dx = dy·Wᵀ and nothing for W.
 *
 * On onnxruntime-node the weight is an initializer of one ONNX model that holds both products behind an
 * If node, so the weight lives once, in ORT's native memory (not the 4 GiB wasm heap):
 *   forward  (back = false): Gemm(x, W, b)                 — transB set for the [out, in] layout
 *   backward (back = true):  Gemm(dy, W) with transB flipped
 * The product runs as a tfjs kernel ("OrtFrozenLinear") on the wasm and cpu backends — on wasm ORT reads
 * and writes the wasm heap in place — and through dataSync / tf.tensor on any other backend. Without
 * onnxruntime-node it falls back to tf.matMul on the active backend.
 */
import * as tf from "@tensorflow/tfjs";
import { BRIDGED_BACKENDS, runBridged } from "./bridge.js";
import { encodeModel, type Graph, type Initializer } from "./onnx-proto.js";
import { OrtSession, ortAvailable, ortThreads, type OrtTensor } from "./ort.js";

export type WeightLayout = "in,out" | "out,in";
export type KernelEngine = "onnxruntime" | "tfjs";

export interface FrozenLinearOptions {
  /**
   * "in,out" (default): weight is [in, out] and y = x·W. "out,in": weight is [out, in] (PyTorch's
   * nn.Linear layout, or a tied embedding used as the LM head) and y = x·Wᵀ.
   */
  layout?: WeightLayout;
  /** Optional frozen bias [out]. */
  bias?: tf.Tensor1D | Float32Array;
  /** "auto" (default) uses onnxruntime-node when it loads, else tfjs. */
  engine?: "auto" | KernelEngine;
  /** ORT intra-op threads (default: ortThreads(), i.e. 2 or OPENR1_ORT_THREADS). */
  threads?: number;
  /**
   * The same weight as a tfjs tensor (not copied, not owned): products under `minFlop` use it with
   * tf.matMul, where a call into ORT (thread wake-up, two copies on non-wasm backends) costs more.
   */
  tfjsWeight?: tf.Tensor2D;
  /** See tfjsWeight (default 2e6 FLOPs: a one-token decode step's k/v/q projections at hidden 896). */
  minFlop?: number;
  /**
   * With a LazyWeight: forward products of at most this many rows (default 64: decode steps) run on a
   * second, forward-only session whose weight MLAS packs once at load instead of on every call (2.5×
   * faster at 8 rows on the 0.5B shapes). It is built the first time such a product runs, so the packed
   * copy exists only where generation happens, never in training.
   */
  packedMaxRows?: number;
}

/** Weight data given without a tfjs tensor, e.g. straight from a safetensors file. */
export interface WeightData {
  data: Float32Array;
  shape: [number, number];
}

/**
 * A weight read only when a session needs it (each session holds its own copy): `load` returns the
 * weight (in `shape`) and the bias, if any.
 */
export interface LazyWeight {
  shape: [number, number];
  load: () => { data: Float32Array; bias?: Float32Array };
}

function floatData(t: tf.Tensor | Float32Array, what: string): Float32Array {
  if (t instanceof Float32Array) return t;
  if (t.dtype !== "float32") throw new Error(`FrozenLinear: ${what} must be float32, got ${t.dtype}`);
  return t.dataSync() as Float32Array;
}

function productGraph(w: Initializer, bias: Initializer | undefined, transposed: boolean): Graph {
  const branch = (name: string, transB: boolean, withBias: boolean, outDim: string): Graph => ({
    name,
    nodes: [{
      opType: "Gemm",
      inputs: withBias ? ["x", "W", "b"] : ["x", "W"],
      outputs: [`${name}_y`],
      attributes: { transB: transB ? 1 : 0 },
    }],
    inputs: [],
    outputs: [{ name: `${name}_y`, elemType: 1, dims: ["rows", outDim] }],
  });
  return {
    name: "frozen_linear",
    nodes: [{
      opType: "If",
      inputs: ["back"],
      outputs: ["y"],
      attributes: {
        then_branch: branch("backward", !transposed, false, "in"),
        else_branch: branch("forward", transposed, bias !== undefined, "out"),
      },
    }],
    inputs: [
      // x is the layer input going forward and dy (width out) going backward.
      { name: "x", elemType: 1, dims: ["rows", "width"] },
      { name: "back", elemType: 9, dims: [] },
    ],
    outputs: [{ name: "y", elemType: 1, dims: ["rows", "cols"] }],
    initializers: bias ? [w, bias] : [w],
  };
}

/** The forward product alone, for the prepacked session. */
function forwardGraph(w: Initializer, bias: Initializer | undefined, transposed: boolean): Graph {
  return {
    name: "frozen_linear_forward",
    nodes: [{ opType: "Gemm", inputs: bias ? ["x", "W", "b"] : ["x", "W"], outputs: ["y"], attributes: { transB: transposed ? 1 : 0 } }],
    inputs: [{ name: "x", elemType: 1, dims: ["rows", "width"] }],
    outputs: [{ name: "y", elemType: 1, dims: ["rows", "cols"] }],
    initializers: bias ? [w, bias] : [w],
  };
}

/** Default of packedMaxRows: products with this many rows or fewer are "few-row" (decode steps). */
export const FEW_ROWS = 64;

const KERNEL = "OrtFrozenLinear";
const live = new Map<number, FrozenLinear>();
let nextId = 0;

function registerKernel(): void {
  for (const backendName of BRIDGED_BACKENDS) {
    if (tf.getKernel(KERNEL, backendName)) continue;
    tf.registerKernel({
      kernelName: KERNEL,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const x = inputs.x as tf.TensorInfo;
        const { id, back } = attrs as unknown as { id: number; back: boolean };
        const layer = live.get(id);
        if (!layer) throw new Error("FrozenLinear: used after dispose()");
        const dims = [x.shape[0], back ? layer.inFeatures : layer.outFeatures];
        const { session, feeds } = layer.sessionFor(back, x.shape[0]);
        return runBridged(backendName, backend as tf.KernelBackend, {
          session,
          inputs: { x: { info: x, dims: x.shape } },
          feeds,
          output: "y",
          outShape: dims,
          outDims: dims,
        });
      },
    });
  }
}

export class FrozenLinear {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly layout: WeightLayout;
  readonly engine: KernelEngine;
  private session?: OrtSession;
  private packed?: OrtSession;
  private readonly lazy?: { load: LazyWeight["load"]; packedMaxRows: number; threads: number };
  private readonly transposed: boolean;
  private readonly id = nextId++;
  private readonly small?: { weight: tf.Tensor2D; minFlop: number };
  private weight?: tf.Tensor2D;
  private bias?: tf.Tensor1D;
  private readonly product: (x: tf.Tensor2D) => tf.Tensor2D;
  private readonly backProduct: (dy: tf.Tensor2D) => tf.Tensor2D;

  /**
   * Copies the weight (and bias) once; the caller may dispose its own tensors afterwards. With
   * onnxruntime the copy lives in native memory, with tfjs as a kept tensor of the active backend. A
   * LazyWeight is loaded when a session is first needed (once per session kind), and must stay loadable.
   */
  constructor(weight: tf.Tensor2D | WeightData | LazyWeight, options: FrozenLinearOptions = {}) {
    const shape = weight.shape;
    if (shape.length !== 2) throw new Error(`FrozenLinear: weight must be 2-D, got shape [${shape}]`);
    this.layout = options.layout ?? "in,out";
    const transposed = (this.transposed = this.layout === "out,in");
    [this.inFeatures, this.outFeatures] = transposed ? [shape[1], shape[0]] : [shape[0], shape[1]];
    if (options.bias && (options.bias instanceof Float32Array ? options.bias.length : options.bias.size) !== this.outFeatures) {
      throw new Error(`FrozenLinear: bias must have ${this.outFeatures} elements (the output size)`);
    }
    if ("load" in weight && options.bias) throw new Error("FrozenLinear: a LazyWeight's bias comes from its load()");
    const engine = options.engine ?? "auto";
    if (engine === "onnxruntime" && !ortAvailable()) throw new Error("FrozenLinear: engine onnxruntime requested but onnxruntime-node is unavailable");
    this.engine = engine === "tfjs" || !ortAvailable() ? "tfjs" : "onnxruntime";

    if (this.engine === "onnxruntime") {
      if (options.tfjsWeight) {
        if (options.tfjsWeight.shape.join() !== shape.join()) throw new Error("FrozenLinear: tfjsWeight must have the weight's shape");
        if (options.bias) throw new Error("FrozenLinear: tfjsWeight cannot be combined with a bias");
        this.small = { weight: options.tfjsWeight, minFlop: options.minFlop ?? 2e6 };
      }
      const threads = options.threads ?? ortThreads();
      if ("load" in weight) {
        this.lazy = { load: weight.load, packedMaxRows: options.packedMaxRows ?? FEW_ROWS, threads };
      } else {
        const data = weight instanceof tf.Tensor ? floatData(weight, "weight") : weight.data;
        this.session = this.buildSession(productGraph, data, options.bias && floatData(options.bias, "bias"), threads, false);
      }
      [this.product, this.backProduct] = this.ortProducts();
    } else {
      const loaded = "load" in weight ? weight.load() : undefined;
      const bias = loaded?.bias ?? options.bias;
      if (bias) this.bias = tf.keep(bias instanceof Float32Array ? tf.tensor1d(bias) : bias.clone());
      this.weight = tf.keep(weight instanceof tf.Tensor ? weight.clone() : tf.tensor2d(loaded?.data ?? (weight as WeightData).data, shape));
      this.product = (x) => tf.tidy(() => {
        const y: tf.Tensor2D = tf.matMul(x, this.weight!, false, transposed);
        return this.bias ? tf.add(y, this.bias) : y;
      });
      this.backProduct = (dy) => tf.matMul(dy, this.weight!, false, !transposed);
    }
  }

  private buildSession(
    graphOf: (w: Initializer, b: Initializer | undefined, transposed: boolean) => Graph,
    data: Float32Array, bias: Float32Array | undefined, threads: number, prepack: boolean,
  ): OrtSession {
    const dims = this.transposed ? [this.outFeatures, this.inFeatures] : [this.inFeatures, this.outFeatures];
    if (data.length !== dims[0] * dims[1]) throw new Error(`FrozenLinear: weight data has ${data.length} values, expected ${dims[0]}×${dims[1]}`);
    const b = bias ? { name: "b", dims: [this.outFeatures], data: bias } : undefined;
    return new OrtSession(encodeModel({ graph: graphOf({ name: "W", dims, data }, b, this.transposed), opsets: { "": 17 } }), { threads, prepack, label: "frozen products" });
  }

  /** The session for a product (built now from a LazyWeight if needed) and its feeds besides x. */
  sessionFor(back: boolean, rows: number): { session: OrtSession; feeds: Record<string, OrtTensor> } {
    const lazy = this.lazy;
    if (lazy && !back && rows <= lazy.packedMaxRows) {
      if (!this.packed) {
        const { data, bias } = lazy.load();
        this.packed = this.buildSession(forwardGraph, data, bias, lazy.threads, true);
      }
      return { session: this.packed, feeds: {} };
    }
    if (!this.session) {
      const { data, bias } = lazy!.load();
      this.session = this.buildSession(productGraph, data, bias, lazy!.threads, false);
    }
    return { session: this.session, feeds: { back: this.session.bool(back) } };
  }

  private ortProducts(): [(x: tf.Tensor2D) => tf.Tensor2D, (dy: tf.Tensor2D) => tf.Tensor2D] {
    registerKernel();
    live.set(this.id, this);
    const run = (x: tf.Tensor2D, back: boolean, cols: number): tf.Tensor2D => {
      if (tf.getKernel(KERNEL, tf.getBackend())) return tf.engine().runKernel(KERNEL, { x }, { id: this.id, back });
      const rows = x.shape[0];
      const { session, feeds } = this.sessionFor(back, rows);
      const y = session.run({ ...feeds, x: session.float(floatData(x, "input"), [rows, x.shape[1]]) }, "y");
      return tf.tensor2d(y.data, [rows, cols]);
    };
    const f = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => ({
      value: run(inputs[0] as tf.Tensor2D, false, this.outFeatures),
      gradFunc: (dy: tf.Tensor) => run(dy as tf.Tensor2D, true, this.inFeatures),
    }));
    return [(x) => f(x) as tf.Tensor2D, (dy) => run(dy, true, this.inFeatures)];
  }

  /** y = x·W (+ b) over the last axis: x is [..., in], y is [..., out]. Differentiable in x only. */
  apply<R extends tf.Rank>(x: tf.Tensor<R>): tf.Tensor<R> {
    const { inFeatures, outFeatures } = this;
    if (x.shape[x.rank - 1] !== inFeatures) {
      throw new Error(`FrozenLinear: input's last dimension is ${x.shape[x.rank - 1]}, expected ${inFeatures}`);
    }
    const rows = x.size / inFeatures;
    const product = this.small && 2 * rows * inFeatures * outFeatures < this.small.minFlop ? this.smallProduct : this.product;
    if (x.rank === 2) return product(x as tf.Tensor2D) as tf.Tensor<R>;
    return tf.tidy(() => {
      const y = product(tf.reshape(x, [-1, inFeatures]) as tf.Tensor2D);
      return tf.reshape(y, [...x.shape.slice(0, -1), outFeatures]) as unknown as tf.Tensor<R>;
    });
  }

  private readonly smallProduct = (x: tf.Tensor2D): tf.Tensor2D => tf.matMul(x, this.small!.weight, false, this.layout === "out,in");

  /**
   * dy·Wᵀ: the input gradient for an output gradient dy [rows, out], for hand-written backward passes
   * (a chunked cross-entropy's). Not recorded for autodiff.
   */
  backward(dy: tf.Tensor2D): tf.Tensor2D {
    if (dy.rank !== 2 || dy.shape[1] !== this.outFeatures) {
      throw new Error(`FrozenLinear.backward: dy must be [rows, ${this.outFeatures}], got [${dy.shape}]`);
    }
    return this.backProduct(dy);
  }

  dispose(): void {
    live.delete(this.id);
    this.session?.dispose();
    this.packed?.dispose();
    this.weight?.dispose();
    this.bias?.dispose();
  }
}
