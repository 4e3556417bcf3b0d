/**
 * Runs an ORT session as a tfjs kernel: inputs are tfjs TensorInfos of the kernel's backend, the output
 * is a new TensorInfo of that backend. On wasm, ORT reads and writes views of the wasm heap (no copy);
 * on cpu (or any backend with readSync / makeTensorInfo) data crosses once each way.
 */
import * as tf from "@tensorflow/tfjs";
import type { OrtSession, OrtTensor } from "./ort.js";

/** The backends kernels are registered for. */
export const BRIDGED_BACKENDS = ["wasm", "cpu"];

/** Whether the active backend keeps tensors in host memory (wasm, cpu), where hostData reads them without a transfer. */
export function tensorsOnHost(): boolean {
  return BRIDGED_BACKENDS.includes(tf.getBackend());
}

/**
 * Whether the ORT kernels serve the active backend: on any other (webgpu) tensors live on the device and a
 * trip through host memory would cost more than the product.
 */
export function ortServesActiveBackend(): boolean {
  return tensorsOnHost();
}

/** What this project reads and writes of tfjs-wasm's backend: its heap, through views. */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

interface DataBackend {
  readSync(dataId: object): Float32Array;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/**
 * A float32 tensor's values for reading on the host: on wasm a view of the heap (no copy; valid until the
 * next tfjs allocation, which may grow and so detach the heap), elsewhere its data.
 */
export function hostData(t: tf.Tensor): Float32Array {
  if (tf.getBackend() === "wasm") return (tf.backend() as unknown as WasmBackend).typedArrayFromHeap(t);
  return t.dataSync() as Float32Array;
}

/**
 * A new float32 tensor whose values `fill` writes: on wasm straight into the heap (a fresh host array costs more to
 * fault in than to fill, and would be copied in afterwards), elsewhere into a host array handed to tf.tensor.
 */
export function filledTensor(shape: number[], fill: (out: Float32Array) => void): tf.Tensor {
  if (tf.getBackend() !== "wasm") {
    const out = new Float32Array(tf.util.sizeFromShape(shape));
    fill(out);
    return tf.tensor(out, shape);
  }
  const heap = tf.backend() as unknown as WasmBackend;
  const info = heap.makeOutput(shape, "float32");
  fill(heap.typedArrayFromHeap(info));
  return tf.engine().makeTensorFromTensorInfo(info);
}

export interface BridgedRun {
  session: OrtSession;
  /** Tensor inputs: the tfjs tensor and the dims ORT sees (same element count). */
  inputs: Record<string, { info: tf.TensorInfo; dims: number[] }>;
  /** Other feeds (flags). */
  feeds?: Record<string, OrtTensor>;
  output: string;
  /** The tfjs output shape and the dims ORT produces (same element count). */
  outShape: number[];
  outDims: number[];
}

export function runBridged(backendName: string, backend: tf.KernelBackend, run: BridgedRun): tf.TensorInfo {
  const { session: s } = run;
  const feeds: Record<string, OrtTensor> = { ...run.feeds };
  if (backendName === "wasm") {
    const wasm = backend as unknown as WasmBackend;
    const out = wasm.makeOutput(run.outShape, "float32");
    // Views are taken after makeOutput, which may grow (and so detach) the heap.
    for (const [name, { info, dims }] of Object.entries(run.inputs)) feeds[name] = s.float(wasm.typedArrayFromHeap(info), dims);
    s.runInto(feeds, run.output, s.float(wasm.typedArrayFromHeap(out), run.outDims));
    return out;
  }
  const data = backend as unknown as DataBackend;
  for (const [name, { info, dims }] of Object.entries(run.inputs)) feeds[name] = s.float(data.readSync(info.dataId), dims);
  return data.makeTensorInfo(run.outShape, "float32", s.run(feeds, run.output).data);
}
