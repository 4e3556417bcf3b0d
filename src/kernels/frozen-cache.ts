import type * as tf from "@tensorflow/tfjs";
import { FrozenLinear, type WeightLayout } from "./frozen-linear.js";
import { ortAvailable } from "./ort.js";
import { cachedForWeight } from "./weight-cache.js";

/**
 * The FrozenLinear (on onnxruntime) for a frozen tfjs weight, built on first use and cached with it; null
 * when onnxruntime-node is unavailable (callers then keep their tfjs product). `layout` says how the
 * weight is stored ("in,out" by default). Products under 2 MFLOP use the tfjs weight itself.
 */
export function frozenLinearFor(weight: tf.Tensor2D, layout: WeightLayout = "in,out"): FrozenLinear | null {
  if (!ortAvailable() || weight.isDisposed) return null;
  return cachedForWeight(weight, `linear ${layout}`, () => new FrozenLinear(weight, { layout, engine: "onnxruntime", tfjsWeight: weight }));
}
