/**
 * Two kernels of tfjs-wasm that copy far more than their result, replaced for the wasm backend:
 * - `Slice` reads its whole input out of the wasm heap into a new ArrayBuffer (`readSync`) before copying
 *   the part it returns, so splitting a tensor in n parts copies it n times (AdamW's flat parameter groups
 *   split back into their members: quadratic in the group). Here the part is copied straight from a heap view.
 * - `Identity` (tf.clone, and every tensor the autodiff tape saves for a backward pass) copies the data.
 *   Tensors are immutable, so here it shares the data and counts a reference, as tfjs's cpu and webgl
 *   backends do (tfjs-wasm's own Reshape already does).
 * (SplitV too: tfjs-wasm's calls its own Slice.) The results are bit-identical; only the copies go.
 */
import * as tf from "@tensorflow/tfjs";
import type { WasmBackend as WasmHeap } from "./bridge.js";

interface WasmBackend extends WasmHeap, tf.KernelBackend {
  incRef(dataId: tf.DataId): void;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap };

/** x[begin : begin + size] as a new tensor, copied from a heap view one contiguous run at a time. */
function copySlice(backend: WasmBackend, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  if (tf.util.sizeFromShape(size) === 0) return out;
  // Views (of the tensor's own dtype) taken after makeOutput, which may grow (and so detach) the heap.
  const src = backend.typedArrayFromHeap(x), dst = backend.typedArrayFromHeap(out);
  const strides = tf.util.computeStrides(x.shape);
  // Collapse the trailing axes the slice takes whole: each copy is one contiguous run.
  let inner = x.shape.length - 1;
  while (inner > 0 && size[inner] === x.shape[inner] && begin[inner] === 0) inner--;
  const run = tf.util.sizeFromShape(size.slice(inner));
  const outer = size.slice(0, inner);
  const count = tf.util.sizeFromShape(outer);
  const index = new Array<number>(inner).fill(0);
  for (let n = 0; n < count; n++) {
    let from = begin[inner] * (strides[inner] ?? 1);
    for (let a = 0; a < inner; a++) from += (begin[a] + index[a]) * strides[a];
    dst.set(src.subarray(from, from + run), n * run);
    for (let a = inner - 1; a >= 0; a--) {
      if (++index[a] < outer[a]) break;
      index[a] = 0;
    }
  }
  return out;
}

function slice(args: KernelArgs, original: tf.KernelFunc): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === "string") return original(args) as tf.TensorInfo;
  const [begin, size] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, args.attrs!.begin as number[], args.attrs!.size as number[]);
  return copySlice(args.backend as WasmBackend, x, begin, size);
}

/** tfjs-wasm's SplitV calls its own slice directly: the same split through copySlice. */
function splitV(args: KernelArgs, original: tf.KernelFunc): tf.TensorInfo[] {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === "string") return original(args) as tf.TensorInfo[];
  const axis = tf.util.parseAxisParam(args.attrs!.axis as number, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, args.attrs!.numOrSizeSplits as number[], axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((n) => {
    const size = [...x.shape];
    size[axis] = n;
    const part = copySlice(args.backend as WasmBackend, x, begin, size);
    begin[axis] += n;
    return part;
  });
}

function identity(args: KernelArgs, original: tf.KernelFunc): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === "string") return original(args) as tf.TensorInfo;
  (args.backend as WasmBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const REPLACED = { Slice: slice, SplitV: splitV, Identity: identity } as const;
let installed = false;

/** Replaces the wasm backend's Slice, SplitV and Identity kernels (idempotent). */
export function installWasmCopyKernels(): void {
  if (installed) return;
  for (const [name, impl] of Object.entries(REPLACED)) {
    const original = tf.getKernel(name, "wasm");
    if (!original) continue;
    tf.unregisterKernel(name, "wasm");
    tf.registerKernel({ ...original, kernelFunc: (args) => impl(args as Parameters<typeof impl>[0], original.kernelFunc) });
  }
  installed = true;
}
