/**
 * ORT objects built from frozen tfjs weights on first use and kept per (weight tensors, kind): lets a model
 * that keeps its weights as tfjs tensors (for saving, merging, exporting) run them on ORT with a one-line
 * change. An object's native memory is released once any of its tensors is disposed (checked whenever
 * another object is built) or by releaseWeightCache().
 */
import type * as tf from "@tensorflow/tfjs";

interface Disposable {
  dispose(): void;
}

const byTensor = new WeakMap<tf.Tensor, Map<string, Disposable>>();
const live = new Map<Disposable, { refs: WeakRef<tf.Tensor>[]; kind: string }>();

function forget(obj: Disposable, refs: WeakRef<tf.Tensor>[], kind: string): void {
  obj.dispose();
  live.delete(obj);
  const first = refs[0].deref();
  if (first) byTensor.get(first)?.delete(kind);
}

function sweep(): void {
  for (const [obj, { refs, kind }] of live) {
    if (refs.some((r) => r.deref()?.isDisposed !== false)) forget(obj, refs, kind);
  }
}

/** The object of this kind for `weight`, built by `build` the first time. */
export function cachedForWeight<T extends Disposable>(weight: tf.Tensor, kind: string, build: () => T): T {
  return cachedForWeights([weight], kind, build);
}

/** The object of this kind built from all of `weights` (e.g. their concatenation), built the first time. */
export function cachedForWeights<T extends Disposable>(weights: tf.Tensor[], kind: string, build: () => T): T {
  // Keyed on the first tensor; the others' ids are part of the key, so replacing one builds a new object.
  const key = weights.length > 1 ? `${kind} ${weights.slice(1).map((w) => w.id).join(",")}` : kind;
  let perKind = byTensor.get(weights[0]);
  const found = perKind?.get(key);
  if (found) return found as T;
  sweep();
  const obj = build();
  if (!perKind) byTensor.set(weights[0], (perKind = new Map()));
  perKind.set(key, obj);
  live.set(obj, { refs: weights.map((w) => new WeakRef(w)), kind: key });
  return obj;
}

/** Frees every cached object's native memory (they are rebuilt on next use). */
export function releaseWeightCache(): void {
  for (const [obj, { refs, kind }] of live) forget(obj, refs, kind);
}

/** How many cached objects hold native memory now. */
export function weightCacheSize(): number {
  sweep();
  return live.size;
}
