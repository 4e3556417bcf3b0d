/**
 * tf.matMul on ONNX Runtime: a BatchMatMul kernel for the wasm and cpu backends that hands float32
 * products to MLAS through com.microsoft FusedMatMul (which takes transA / transB itself, so the
 * transposed and batched products autodiff produces — ~2 GFLOP/s on tfjs-wasm — run at full speed).
 *
 * On wasm ORT reads the operands from and writes the product into the wasm heap, with no copy. Products
 * below `minFlop`, untransposed ones with fewer than `minRows` output rows, non-float32 ones and batch
 * shapes ORT would broadcast differently go to the backend's own kernel.
 */
import * as tf from "@tensorflow/tfjs";
import { encodeModel } from "./onnx-proto.js";
import { BRIDGED_BACKENDS, runBridged } from "./bridge.js";
import { OrtSession, ortAvailable } from "./ort.js";

const sessions = new Map<string, OrtSession>();

function session(transA: boolean, transB: boolean): OrtSession {
  const key = `${transA ? 1 : 0}${transB ? 1 : 0}`;
  let s = sessions.get(key);
  if (!s) {
    const model = encodeModel({
      opsets: { "": 17, "com.microsoft": 1 },
      graph: {
        name: "batch_matmul",
        nodes: [{
          opType: "FusedMatMul",
          domain: "com.microsoft",
          inputs: ["a", "b"],
          outputs: ["y"],
          attributes: { transA: transA ? 1 : 0, transB: transB ? 1 : 0, alpha: { float: 1 } },
        }],
        inputs: [
          { name: "a", elemType: 1, dims: ["batch_a", "a1", "a2"] },
          { name: "b", elemType: 1, dims: ["batch_b", "b1", "b2"] },
        ],
        outputs: [{ name: "y", elemType: 1, dims: ["batch", "m", "n"] }],
      },
    });
    s = new OrtSession(model, { label: "other products" });
    sessions.set(key, s);
  }
  return s;
}

/** The product's geometry, with the batch dimensions flattened to one (as tfjs kernels do). */
interface Geometry {
  a3: [number, number, number];
  b3: [number, number, number];
  out3: [number, number, number];
  outShape: number[];
  flop: number;
}

function geometry(a: number[], b: number[], transA: boolean, transB: boolean): Geometry | null {
  if (a.length < 2 || b.length < 2) return null;
  const [ar, ac] = a.slice(-2);
  const [br, bc] = b.slice(-2);
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const [k2, n] = transB ? [bc, br] : [br, bc];
  if (k !== k2) return null;
  const batchA = a.slice(0, -2).reduce((x, y) => x * y, 1);
  const batchB = b.slice(0, -2).reduce((x, y) => x * y, 1);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  const outer = tf.backend_util.assertAndGetBroadcastShape(a.slice(0, -2), b.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  // tfjs flattens each side's batch dims on its own; that equals broadcasting only when one side is
  // unbatched or both sides have the same batch shape.
  if (batchA !== batchB && outer.reduce((x, y) => x * y, 1) !== batch) return null;
  return {
    a3: [batchA, ar, ac],
    b3: [batchB, br, bc],
    out3: [batch, m, n],
    outShape: [...outer, m, n],
    flop: 2 * batch * m * n * k,
  };
}

/**
 * C = op(A)·op(B) for float32 data in tfjs's layout, on ORT. A is [batchA, r, c] (or its 2-D form), op
 * transposes the last two axes when asked; batchA and batchB must be equal or 1. Writes into `out` when
 * given (it must hold batch·m·n floats) and returns it, else returns a new array.
 */
export function ortMatMul(
  a: Float32Array, aShape: number[], b: Float32Array, bShape: number[],
  transA = false, transB = false, out?: Float32Array,
): Float32Array {
  const g = geometry(aShape, bShape, transA, transB);
  if (!g) throw new Error(`ortMatMul: shapes [${aShape}] and [${bShape}] (transA=${transA}, transB=${transB}) do not multiply`);
  const s = session(transA, transB);
  const feeds = { a: s.float(a, g.a3), b: s.float(b, g.b3) };
  if (!out) return s.run(feeds, "y").data;
  s.runInto(feeds, "y", s.float(out, g.out3));
  return out;
}

type KernelArgs = Parameters<tf.KernelFunc>[0];

const originals = new Map<string, tf.KernelConfig>();
let minFlop = 0;
let minRows = 0;
const stats = { ort: 0, backend: 0 };

/** How many BatchMatMul calls the installed kernel sent to ORT and left to the backend (for profiling). */
export function ortMatMulStats(): { ort: number; backend: number } {
  return { ...stats };
}

function kernelFor(backendName: string, original: tf.KernelConfig): tf.KernelFunc {
  return (args: KernelArgs) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const g = a.dtype === "float32" && b.dtype === "float32" ? geometry(a.shape, b.shape, transposeA, transposeB) : null;
    const fewRows = g !== null && g.out3[1] < minRows && !transposeA && !transposeB;
    if (!g || g.flop < minFlop || g.flop === 0 || fewRows) {
      stats.backend++;
      return original.kernelFunc(args);
    }
    stats.ort++;
    return runBridged(backendName, args.backend as tf.KernelBackend, {
      session: session(transposeA, transposeB),
      inputs: { a: { info: a, dims: g.a3 }, b: { info: b, dims: g.b3 } },
      output: "y",
      outShape: g.outShape,
      outDims: g.out3,
    });
  };
}

export interface OrtMatMulOptions {
  /** Backends whose BatchMatMul is replaced (default wasm and cpu). */
  backends?: string[];
  /**
   * Products below this many FLOPs stay on the backend's kernel, where a call into ORT costs more
   * (default 2e5; measured on wasm: [8,64]·[64,64] 0.035 vs 0.066 ms, [1,896]·[896,896] even, one-token
   * LM head [1,896]·[896,151936] 27 vs 14 ms in ORT's favour).
   */
  minFlop?: number;
  /** Untransposed products with fewer output rows stay on the backend's kernel (default 0: none). */
  minRows?: number;
}

/**
 * Routes tf.matMul (the BatchMatMul kernel) of the given backends through ORT, gradients included.
 * Returns the backends it installed on (none when onnxruntime-node is unavailable). Idempotent.
 */
export function installOrtMatMul(options: OrtMatMulOptions = {}): string[] {
  if (!ortAvailable()) return [];
  minFlop = options.minFlop ?? 2e5;
  minRows = options.minRows ?? 0;
  // Build the four sessions now, not inside the first timed product.
  for (const tA of [false, true]) for (const tB of [false, true]) session(tA, tB);
  const installed: string[] = [];
  for (const backendName of options.backends ?? BRIDGED_BACKENDS) {
    if (!originals.has(backendName)) {
      const original = tf.getKernel("BatchMatMul", backendName);
      if (!original) continue;
      originals.set(backendName, original);
      tf.unregisterKernel("BatchMatMul", backendName);
      tf.registerKernel({ ...original, kernelFunc: kernelFor(backendName, original) });
    }
    installed.push(backendName);
  }
  return installed;
}

/** Whether tf.matMul on the active backend goes to ORT (transposed and batched products at full speed). */
export function ortMatMulActive(): boolean {
  return originals.has(tf.getBackend());
}

/** Puts the backends' own BatchMatMul kernels back. */
export function uninstallOrtMatMul(): void {
  for (const [backendName, original] of originals) {
    tf.unregisterKernel("BatchMatMul", backendName);
    tf.registerKernel(original);
  }
  originals.clear();
}
