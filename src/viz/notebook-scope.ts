const SCOPE = Symbol.for("openr1.viz.notebookScope");
type WithScope = typeof globalThis & { [SCOPE]?: Map<string, unknown> };

const disposeOf = (value: unknown) => {
  const dispose = (value as { dispose?: unknown } | null)?.dispose;
  if (typeof dispose === "function") dispose.call(value);
};

/**
 * A value a notebook cell makes and keeps (a model, a run record), under a name: running the cell again disposes
 * what the previous run kept there before making the new one, so re-running cells, or the whole notebook, in one
 * kernel does not pile up tensors and memory. `make` may be async; the value is kept once it exists.
 */
export function keep<T>(name: string, make: () => T): T {
  const scope = ((globalThis as WithScope)[SCOPE] ??= new Map());
  if (scope.has(name)) {
    disposeOf(scope.get(name));
    scope.delete(name);
  }
  const value = make();
  if (value instanceof Promise) return value.then((v: unknown) => (scope.set(name, v), v)) as T;
  scope.set(name, value);
  return value;
}
