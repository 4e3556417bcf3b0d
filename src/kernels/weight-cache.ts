/**
 * ORT objects built from a frozen tfjs weight on first use and kept per (weight tensor, kind): lets a model
 * that keeps its weights as tfjs tensors (for saving, merging, exporting) run them on ORT with a one-line
 * change. An object's native memory is released once its tensor is disposed (checked whenever another
 * object is built) or by releaseWeightCache().
 */
import type * as tf from "@tensorflow/tfjs";

interface Disposable {
  dispose(): void;
}

const byTensor = new WeakMap<tf.Tensor, Map<string, Disposable>>();
const live = new Map<Disposable, { ref: WeakRef<tf.Tensor>; kind: string }>();

function sweep(): void {
  for (const [obj, { ref, kind }] of live) {
    const t = ref.deref();
    if (!t || t.isDisposed) {
      obj.dispose();
      live.delete(obj);
      if (t) byTensor.get(t)?.delete(kind);
    }
  }
}

/** The object of this kind for `weight`, built by `build` the first time. */
export function cachedForWeight<T extends Disposable>(weight: tf.Tensor, kind: string, build: () => T): T {
  let perKind = byTensor.get(weight);
  const found = perKind?.get(kind);
  if (found) return found as T;
  sweep();
  const obj = build();
  if (!perKind) byTensor.set(weight, (perKind = new Map()));
  perKind.set(kind, obj);
  live.set(obj, { ref: new WeakRef(weight), kind });
  return obj;
}

/** Frees every cached object's native memory (they are rebuilt on next use). */
export function releaseWeightCache(): void {
  for (const [obj, { ref, kind }] of live) {
    obj.dispose();
    const t = ref.deref();
    if (t) byTensor.get(t)?.delete(kind);
  }
  live.clear();
}

/** How many cached objects hold native memory now. */
export function weightCacheSize(): number {
  sweep();
  return live.size;
}
