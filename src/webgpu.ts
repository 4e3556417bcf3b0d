/**
 * The WebGPU backend in Node: @tensorflow/tfjs-backend-webgpu on Dawn (the `webgpu` package, a prebuilt
 * dawn.node) over the machine's Vulkan driver — a GPU's, or Mesa's lavapipe in software.
 *
 * The traps of that stack closed here:
 * - the backend registers itself only if `navigator.gpu` exists when it is imported, so it is imported
 *   after navigator.gpu is set;
 * - a buffer larger than the adapter's maxStorageBufferBindingSize cannot be bound, and Dawn then skips the
 *   dispatch and reports on `uncapturederror` while tfjs goes on with wrong numbers: such buffers are refused
 *   when tfjs asks for them, and any validation error makes the next read from the GPU throw;
 * - tfjs reads GPU buffers synchronously through an OffscreenCanvas, which Node lacks: a synchronous read says to
 *   read asynchronously instead of failing obscurely;
 * - Dawn keeps Node's event loop alive: the backend is released when the loop would otherwise end.
 * And one of tfjs's: its buffer pool keeps every freed buffer for reuse by the same size, so batches of varying
 * lengths grow it without bound (15 GiB after 30 steps of the shipped model): it is emptied when it holds more
 * than the largest working set seen (and at least 1 GiB).
 */
import { existsSync, readdirSync } from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { environment } from "./environment.js";

export interface GpuAdapter {
  /** e.g. "NVIDIA H200" or "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)". */
  description: string;
  vendor: string;
  /** A software (CPU) implementation such as lavapipe: correct, but slower than the CPU backends. */
  fallback: boolean;
  /** The largest buffer a kernel may bind (maxStorageBufferBindingSize): tensors must stay below it. */
  maxBindingBytes: number;
}

/** A tensor the adapter cannot bind, or a WebGPU validation error: the result would have been wrong. */
export class WebGpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebGpuError";
  }
}

interface Dawn {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

interface BufferPool {
  acquireBuffer(size: number, usage: number, ...rest: unknown[]): GPUBuffer;
  freeBuffers: Map<string, GPUBuffer[]>;
  numFreeBuffers: number;
  numBytesAllocated: number;
  numBytesUsed: number;
}

interface TfWebGpuBackend {
  device: GPUDevice;
  bufferManager: BufferPool;
  read(dataId: object): Promise<tf.backend_util.BackendValues>;
  readSync(dataId: object): tf.backend_util.BackendValues;
  tensorMap: { get(dataId: object): { values?: unknown } | undefined };
}

let dawn: Dawn | undefined;
let gpu: GPU | undefined;
let active: GpuAdapter | undefined;
const errors: string[] = [];

async function loadDawn(): Promise<Dawn> {
  if (dawn) return dawn;
  try {
    dawn = (await import("webgpu")) as unknown as Dawn;
  } catch (e) {
    throw new WebGpuError(`the webgpu package (Dawn for Node) could not be loaded: ${(e as Error).message.split("\n")[0]}`);
  }
  // tfjs-backend-webgpu reads GPUBufferUsage, GPUMapMode, … as globals, as in a browser.
  for (const [name, value] of Object.entries(dawn.globals)) if (!(name in globalThis)) Object.assign(globalThis, { [name]: value });
  return dawn;
}

function describe(adapter: GPUAdapter): GpuAdapter {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const fallback = info.isFallbackAdapter === true || info.architecture === "software" || /llvmpipe|lavapipe|swiftshader/i.test(info.description);
  return {
    description: info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(" ") || "unknown adapter",
    vendor: info.vendor,
    fallback,
    maxBindingBytes: adapter.limits.maxStorageBufferBindingSize,
  };
}

/**
 * Whether this Linux machine has a GPU device node (NVIDIA's, or a DRM render node): without one Dawn can only
 * find a software adapter, so "auto" does not load it (asking costs ~0.2 s and Dawn's warnings on stderr).
 */
export function gpuDevicePresent(): boolean {
  if (process.platform !== "linux") return true;
  if (existsSync("/dev/nvidia0")) return true;
  try {
    return readdirSync("/dev/dri").some((f) => f.startsWith("renderD"));
  } catch {
    return false;
  }
}

/** The adapter WebGPU would use here, or why there is none (no Vulkan driver, dawn.node missing). */
export async function findWebGpuAdapter(): Promise<{ adapter: GpuAdapter } | { why: string }> {
  if (active) return { adapter: active };
  try {
    gpu ??= (await loadDawn()).create([]);
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) {
      return {
        why: "no WebGPU adapter: Dawn found no Vulkan driver (it needs the libvulkan1 loader and a driver: the GPU vendor's ICD, or Mesa ≥ 25's lavapipe from mesa-vulkan-drivers)",
      };
    }
    return { adapter: describe(adapter) };
  } catch (e) {
    return { why: (e as Error).message };
  }
}

/** Makes tfjs's "webgpu" backend the active one (see the file comment for what it guards against). */
export async function activateWebGpu(): Promise<GpuAdapter> {
  if (active) {
    if (tf.getBackend() !== "webgpu" && !(await tf.setBackend("webgpu"))) throw new WebGpuError("the webgpu backend failed to initialise");
    return active;
  }
  const found = await findWebGpuAdapter();
  if ("why" in found) throw new WebGpuError(found.why);
  const lowered = environment().webgpuMaxBindingMb;
  if (lowered !== undefined) setBindingLimitOverride(lowered);
  const g = globalThis as { navigator?: { gpu?: GPU } };
  g.navigator ??= {} as { gpu?: GPU };
  if (!g.navigator.gpu) Object.defineProperty(g.navigator, "gpu", { value: gpu, configurable: true });
  await import("@tensorflow/tfjs-backend-webgpu");
  if (!(await tf.setBackend("webgpu"))) throw new WebGpuError("the webgpu backend failed to initialise (tfjs could not create a device)");
  guard(tf.backend() as unknown as TfWebGpuBackend, found.adapter);
  process.once("beforeExit", releaseWebGpu);
  return (active = found.adapter);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 0)} MiB`;
}

/** A lower binding limit to work to, in bytes (OPENR1_WEBGPU_MAX_BINDING_MB, read when the backend starts). */
let overrideBytes = Infinity;

/**
 * Lowers the binding limit the project works to (MiB; undefined: the adapter's own), to exercise the chunking of
 * vocabulary-sized tensors with small models, or to reproduce a smaller GPU's limit.
 */
export function setBindingLimitOverride(mb: number | undefined): void {
  overrideBytes = mb !== undefined && mb > 0 ? mb * 2 ** 20 : Infinity;
}

/** The largest tensor (bytes) one kernel may read on the active backend: Infinity off WebGPU. */
export function bindingLimitBytes(): number {
  return active && tf.getBackend() === "webgpu" ? Math.min(active.maxBindingBytes, overrideBytes) : Infinity;
}

function guard(backend: TfWebGpuBackend, adapter: GpuAdapter): void {
  const device = backend.device;
  adapter.maxBindingBytes = device.limits.maxStorageBufferBindingSize;
  device.addEventListener("uncapturederror", (event) => errors.push((event as GPUUncapturedErrorEvent).error.message));
  void device.lost.then((info) => {
    if (info.reason !== "destroyed") errors.push(`the GPU device was lost: ${info.message}`);
  });
  const buffers = backend.bufferManager;
  const acquire = buffers.acquireBuffer.bind(buffers);
  let peakUsed = 0;
  buffers.acquireBuffer = (size, usage, ...rest) => {
    peakUsed = Math.max(peakUsed, buffers.numBytesUsed);
    if (buffers.numBytesAllocated - buffers.numBytesUsed > Math.max(2 ** 30, peakUsed)) emptyPool(buffers);
    const limit = Math.min(adapter.maxBindingBytes, overrideBytes);
    if (size > limit && (usage & GPUBufferUsage.STORAGE) !== 0) {
      throw new WebGpuError(
        `a ${mib(size)} tensor is over this GPU's storage binding limit of ${mib(limit)} (maxStorageBufferBindingSize of ` +
          `${adapter.description}${limit < adapter.maxBindingBytes ? ", lowered by OPENR1_WEBGPU_MAX_BINDING_MB" : ""}): ` +
          "a kernel cannot read it whole. Split it (the model chunks its vocabulary-sized tensors) or use a smaller batch.",
      );
    }
    return acquire(size, usage, ...rest);
  };
  const read = backend.read.bind(backend);
  backend.read = async (dataId) => {
    const values = await read(dataId);
    throwIfGpuFailed();
    return values;
  };
  // tfjs reads GPU buffers synchronously through an OffscreenCanvas, which Node lacks: say so instead.
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId) => {
    if (backend.tensorMap.get(dataId)?.values != null) return readSync(dataId);
    throw new WebGpuError("a synchronous read (dataSync/arraySync) of a GPU tensor is not possible in Node: use the async data()/array()");
  };
}

/** Destroys the pool's free buffers (the ones in use stay). */
function emptyPool(pool: BufferPool): void {
  for (const free of pool.freeBuffers.values()) {
    for (const b of free) {
      pool.numBytesAllocated -= b.size;
      b.destroy();
    }
    free.length = 0;
  }
  pool.numFreeBuffers = 0;
}

/** Throws the first WebGPU validation error seen since the last check (Dawn reports them asynchronously). */
export function throwIfGpuFailed(): void {
  if (errors.length === 0) return;
  const first = errors[0]!;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
  errors.length = 0;
  throw new WebGpuError(`WebGPU reported an error, so results computed since are wrong: ${first}${more}`);
}

/** The active adapter, when the webgpu backend was activated. */
export function webGpuAdapter(): GpuAdapter | undefined {
  return active;
}

/** Frees the device so that Node can exit (at the end of the process: the backend cannot be created again). */
export function releaseWebGpu(): void {
  if (tf.findBackend("webgpu")) tf.removeBackend("webgpu");
  active = undefined;
}
