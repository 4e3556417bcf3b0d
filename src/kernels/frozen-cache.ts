import * as tf from "@tensorflow/tfjs";
import { FrozenLinear, type WeightLayout } from "./frozen-linear.js";
import { ortAvailable } from "./ort.js";
import { ortServesActiveBackend } from "./bridge.js";
import { cachedForWeight, cachedForWeights } from "./weight-cache.js";

/**
 * The FrozenLinear (on onnxruntime) for a frozen tfjs weight, built on first use and cached with it; null
 * when onnxruntime-node is unavailable or the backend is not a CPU one (callers then keep their tfjs product). `layout` says how the
 * weight is stored ("in,out" by default). Products under 2 MFLOP use the tfjs weight itself.
 */
export function frozenLinearFor(weight: tf.Tensor2D, layout: WeightLayout = "in,out"): FrozenLinear | null {
  if (!ortAvailable() || !ortServesActiveBackend() || weight.isDisposed) return null;
  const lazy = { shape: weight.shape, load: () => ({ data: weight.dataSync() as Float32Array }) };
  return cachedForWeight(weight, `linear ${layout}`, () => new FrozenLinear(lazy, { layout, engine: "onnxruntime", tfjsWeight: weight }));
}

/**
 * One FrozenLinear (on onnxruntime) for several frozen [in, out] weights that share their input (q/k/v,
 * gate/up): x·[W1 | W2 | …] + [b1 | b2 | …] in one product, forward and backward (dx = Σ dyᵢ·Wᵢᵀ in one
 * Gemm). Split its output at the weights' widths. Cached with the weights; null without onnxruntime.
 * `biases`, when given, has one entry per weight (zeros where undefined).
 */
export function frozenConcatFor(weights: tf.Tensor2D[], biases?: (tf.Tensor1D | undefined)[]): FrozenLinear | null {
  if (!ortAvailable() || !ortServesActiveBackend() || weights.some((w) => w.isDisposed)) return null;
  const withBias = biases?.some((b) => b !== undefined) ?? false;
  const keyed = withBias ? [...weights, ...biases!.filter((b): b is tf.Tensor1D => b !== undefined)] : weights;
  return cachedForWeights(keyed, withBias ? "concat+bias" : "concat", () => {
    const inF = weights[0].shape[0];
    if (weights.some((w) => w.shape[0] !== inF)) throw new Error("frozenConcatFor: the weights must have the same input size");
    const width = weights.reduce((n, w) => n + w.shape[1], 0);
    const load = () => {
      // Row by row in JS: tf.concat along axis 1 takes ~9 s for gate/up at the 0.5B shape on wasm.
      const data = new Float32Array(inF * width);
      let col = 0;
      for (const w of weights) {
        const src = w.dataSync() as Float32Array, n = w.shape[1];
        for (let r = 0; r < inF; r++) data.set(src.subarray(r * n, (r + 1) * n), r * width + col);
        col += n;
      }
      if (!withBias) return { data };
      const bias = new Float32Array(width);
      let at = 0;
      weights.forEach((w, i) => {
        const b = biases![i];
        if (b) bias.set(b.dataSync() as Float32Array, at);
        at += w.shape[1];
      });
      return { data, bias };
    };
    return new FrozenLinear({ shape: [inF, width], load }, { engine: "onnxruntime" });
  });
}
