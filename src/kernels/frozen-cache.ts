/**
 * One FrozenLinear per frozen weight tensor, built on first use: lets a model that keeps its weights as
 * tfjs tensors (for saving, merging, exporting) run their products on ORT with a one-line change.
 * The ORT copy of a weight is released once its tensor is disposed (checked whenever another layer is
 * built) or by releaseFrozenLinears().
 */
import * as tf from "@tensorflow/tfjs";
import { FrozenLinear, type WeightLayout } from "./frozen-linear.js";
import { ortAvailable } from "./ort.js";

const byTensor = new WeakMap<tf.Tensor, FrozenLinear>();
const live = new Map<FrozenLinear, WeakRef<tf.Tensor>>();

function sweep(): void {
  for (const [layer, ref] of live) {
    const t = ref.deref();
    if (!t || t.isDisposed) {
      layer.dispose();
      live.delete(layer);
      if (t) byTensor.delete(t);
    }
  }
}

/**
 * The FrozenLinear (on onnxruntime) for `weight`, or null when onnxruntime-node is unavailable (callers
 * then keep their tfjs product). `layout` says how the weight is stored ("in,out" by default).
 */
export function frozenLinearFor(weight: tf.Tensor2D, layout: WeightLayout = "in,out"): FrozenLinear | null {
  if (!ortAvailable() || weight.isDisposed) return null;
  let layer = byTensor.get(weight);
  if (layer && layer.layout !== layout) throw new Error(`frozenLinearFor: weight already used with layout ${layer.layout}`);
  if (!layer) {
    sweep();
    layer = new FrozenLinear(weight, { layout, engine: "onnxruntime" });
    byTensor.set(weight, layer);
    live.set(layer, new WeakRef(weight));
  }
  return layer;
}

/** Frees every cached layer's ORT memory (they are rebuilt on next use). */
export function releaseFrozenLinears(): void {
  for (const [layer, ref] of live) {
    layer.dispose();
    const t = ref.deref();
    if (t) byTensor.delete(t);
  }
  live.clear();
}

/** How many cached layers hold ORT memory now. */
export function frozenLinearCount(): number {
  sweep();
  return live.size;
}
