/**
 * Synchronous access to onnxruntime-node (installed with @huggingface/transformers; it bundles the CPU
 * build of ONNX Runtime, whose MLAS matmul is 4-8x faster than tfjs-wasm's on this kind of machine).
 *
 * The public `InferenceSession.run` returns a Promise, but only because it defers the call with
 * setImmediate: the native binding underneath (`dist/binding.js`, "a simple synchronized inference
 * session object wrap") loads and runs synchronously. tfjs kernels and customGrad functions are
 * synchronous, so the kernels talk to the binding directly.
 */
import { createRequire } from "node:module";
import { environment } from "../environment.js";

export interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

interface TensorCtor {
  new (type: "float32", data: Float32Array, dims: readonly number[]): OrtTensor;
  new (type: "int64", data: BigInt64Array, dims: readonly number[]): OrtTensor;
  new (type: "bool", data: boolean[], dims: readonly number[]): OrtTensor;
}

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, OrtTensor | null>, options: object): Record<string, OrtTensor>;
  endProfiling(): void;
  dispose(): void;
}

interface Ort {
  binding: { InferenceSession: new () => NativeSession };
  Tensor: TensorCtor;
}

let ort: Ort | null | undefined;
let unavailableReason = "";

function load(): Ort | null {
  if (ort !== undefined) return ort;
  if (environment().ort.disabled) {
    unavailableReason = "disabled by OPENR1_ORT=0";
    return (ort = null);
  }
  try {
    const require = createRequire(import.meta.url);
    const { binding, initOrt } = require("onnxruntime-node/dist/binding.js");
    const { Tensor } = require("onnxruntime-common");
    initOrt();
    ort = { binding, Tensor };
  } catch (e) {
    unavailableReason = `onnxruntime-node could not be loaded: ${(e as Error).message.split("\n")[0]}`;
    ort = null;
  }
  return ort;
}

/** Whether onnxruntime-node's native binding loads here (OPENR1_ORT=0 turns it off). */
export function ortAvailable(): boolean {
  return load() !== null;
}

/** Why ortAvailable() is false ("" when it is true). */
export function ortUnavailableReason(): string {
  load();
  return unavailableReason;
}

let threadsOverride: number | undefined;

/** Intra-op threads for sessions created from now on (default: the environment's, 2 or OPENR1_ORT_THREADS). */
export function setOrtThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`ORT threads must be a positive integer, got ${threads}`);
  threadsOverride = threads;
}

export function ortThreads(): number {
  return threadsOverride ?? environment().ort.threads;
}

/** Where sessions created while profiling is on write ORT's trace (a prefix), and the sessions to end it for. */
const profiling: { prefix: string | null; sessions: OrtSession[] } = { prefix: null, sessions: [] };

/**
 * Records ORT's per-node timings for the sessions created from now on (their JSON traces are written under `prefix`
 * when `endOrtProfiling` is called): where a step's time goes, for the bench.
 */
export function startOrtProfiling(prefix: string): void {
  profiling.prefix = prefix;
}

/** Ends the recording of every profiled session (each writes its trace file). */
export function endOrtProfiling(): void {
  for (const s of profiling.sessions.splice(0)) s.endProfiling();
  profiling.prefix = null;
}

/** Milliseconds spent in ORT runs since the last reset, by the sessions' labels (what a step's time goes to, for the bench). */
const runTimes = new Map<string, number>();

export function ortRunTimes(): Record<string, number> {
  return Object.fromEntries(runTimes);
}

export function resetOrtRunTimes(): void {
  runTimes.clear();
}

export interface OrtSessionOptions {
  /** Intra-op threads (default: ortThreads()). */
  threads?: number;
  /**
   * Let MLAS pack the model's constant weights once at load (default: the environment's, OPENR1_ORT_PREPACK=1): a
   * product with few rows then reads the packed weight instead of packing it on every call.
   */
  prepack?: boolean;
  /**
   * Keep the memory of a run's intermediates for the next run (default on): off, it goes back to the allocator (and
   * large blocks to the system) when the run ends — for graphs whose intermediates grow with the sequence, where each
   * session's arena would otherwise hold its own largest run for good.
   */
  arena?: boolean;
  /** What the session computes, for ortRunTimes (default "other products"). */
  label?: string;
}

/** A loaded ONNX model, run synchronously on the CPU execution provider. */
export class OrtSession {
  private readonly native: NativeSession;
  private readonly ort: Ort;

  readonly threads: number;
  private readonly label: string;

  constructor(model: Uint8Array, options: OrtSessionOptions = {}) {
    const { threads = ortThreads(), prepack = environment().ort.prepack, arena = true, label = "other products" } = options;
    this.threads = threads;
    this.label = label;
    const o = load();
    if (!o) throw new Error(`OrtSession: ${unavailableReason}`);
    this.ort = o;
    this.native = new o.binding.InferenceSession();
    if (profiling.prefix) profiling.sessions.push(this);
    this.native.loadModel(model.buffer, model.byteOffset, model.byteLength, {
      executionProviders: ["cpu"],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: "all",
      enableCpuMemArena: arena,
      ...(profiling.prefix ? { enableProfiling: true, profileFilePrefix: profiling.prefix } : {}),
      extra: {
        session: {
          // Hundreds of sessions share two cores with tfjs: idle workers must sleep, not spin.
          intra_op: { allow_spinning: "0" },
          inter_op: { allow_spinning: "0" },
          disable_prepacking: prepack ? "0" : "1",
        },
      },
    });
  }

  endProfiling(): void {
    this.native.endProfiling();
  }

  float(data: Float32Array, dims: readonly number[]): OrtTensor {
    return new this.ort.Tensor("float32", data, dims);
  }

  int64(data: BigInt64Array, dims: readonly number[]): OrtTensor {
    return new this.ort.Tensor("int64", data, dims);
  }

  bool(value: boolean): OrtTensor {
    return new this.ort.Tensor("bool", [value], []);
  }

  /** Runs the model and returns the named output. */
  run(feeds: Record<string, OrtTensor>, output: string): OrtTensor {
    return this.timed(() => this.native.run(feeds, { [output]: null }, {})[output]);
  }

  private timed<T>(f: () => T): T {
    const t0 = performance.now();
    try {
      return f();
    } finally {
      runTimes.set(this.label, (runTimes.get(this.label) ?? 0) + performance.now() - t0);
    }
  }

  /** Runs the model and returns the named outputs; those in `into` are written there (preallocated, exact shapes). */
  runMany(feeds: Record<string, OrtTensor>, outputs: string[], into: Record<string, OrtTensor> = {}): Record<string, OrtTensor> {
    const out = this.timed(() => this.native.run(feeds, Object.fromEntries(outputs.map((o) => [o, into[o] ?? null])), {}));
    return { ...out, ...into };
  }

  /** Runs the model with the output written into `target` (preallocated, of the output's exact shape). */
  runInto(feeds: Record<string, OrtTensor>, output: string, target: OrtTensor): void {
    this.timed(() => this.native.run(feeds, { [output]: target }, {}));
  }

  dispose(): void {
    this.native.dispose();
  }
}
