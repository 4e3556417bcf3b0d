import { totalmem } from "node:os";
import * as tf from "@tensorflow/tfjs";
import type { Qwen2Config } from "../model/config.js";
import { resolveLoraConfig, type LoraConfig } from "../model/lora.js";
import { countParameters } from "../model/params.js";
import type { LinearName } from "../model/weights.js";
import { GROUP_MAX, GROUP_MEMBER_MAX } from "./optimizer.js";

export interface MemoryNeed {
  bytes: number;
  parts: { what: string; bytes: number }[];
}

/** [in, out] features of each adapted linear of a Qwen2 layer. */
function linearDims(c: Qwen2Config, name: LinearName): [number, number] {
  const H = c.hiddenSize, I = c.intermediateSize, kv = c.numKeyValueHeads * c.headDim;
  const dims: Record<LinearName, [number, number]> = {
    q_proj: [H, H], k_proj: [H, kv], v_proj: [H, kv], o_proj: [H, H], gate_proj: [H, I], up_proj: [H, I], down_proj: [I, H],
  };
  return dims[name];
}

/** The trainable tensors' sizes (elements): LoRA's A and B of every adapted linear, or every module of the model. */
function trainableSizes(c: Qwen2Config, method: "lora" | "full", lora: LoraConfig): number[] {
  if (method === "full") return countParameters(c).modules.flatMap((m) => Array<number>(m.repeats).fill(m.count));
  const perLayer = lora.targetModules.flatMap((name) => linearDims(c, name).map((features) => lora.r * features));
  return Array.from({ length: c.numHiddenLayers }, () => perLayer).flat();
}

/**
 * The largest number of elements AdamW updates in one go: a parameter larger than GROUP_MEMBER_MAX alone, the others
 * concatenated in groups of at most GROUP_MAX (an upper bound: the optimizer also keeps decayed and undecayed apart).
 */
function largestUpdate(sizes: number[]): number {
  const small = sizes.filter((n) => n <= GROUP_MEMBER_MAX).reduce((a, b) => a + b, 0);
  return Math.max(0, ...sizes.filter((n) => n > GROUP_MEMBER_MAX), Math.min(GROUP_MAX, small));
}

/** Tensors of the largest group's size alive at once in AdamW.apply (concatenations, moments, intermediates, splits). */
const UPDATE_TEMPORARIES = 19;
/**
 * What a step holds beyond the terms counted: its activations on the heap, allocator overhead and the heap's growth
 * steps. Measured at most 0.19 GiB over eight configurations up to 2,048 tokens a step (docs/training.md), rounded up.
 */
const STEP_ALLOWANCE = 0.25 * 2 ** 30;

/**
 * The memory a training step needs at its peak on the tfjs backend: the f32 weights; for every trainable parameter
 * its weight, gradient and AdamW's two moments (16 bytes), and a second gradient while micro-batches accumulate;
 * AdamW's temporaries while it updates its largest group; and a measured allowance for the rest. Long sequences need
 * more for their activations than the allowance (docs/training.md): there an allocation failure is caught and
 * explained instead (TrainingOutOfMemoryError).
 */
export function trainingMemoryNeed(c: Qwen2Config, method: "lora" | "full", lora: Partial<LoraConfig> = {}, gradientAccumulation = 1): MemoryNeed {
  const total = countParameters(c).total;
  const cfg = resolveLoraConfig(lora);
  const sizes = trainableSizes(c, method, cfg);
  const trainable = sizes.reduce((a, b) => a + b, 0);
  const fmt = (n: number) => n.toLocaleString("en-US");
  const parts =
    method === "full"
      ? [{ what: `weights, gradients and AdamW moments of all ${fmt(total)} parameters`, bytes: 16 * total }]
      : [
          { what: "frozen f32 weights", bytes: 4 * total },
          { what: `LoRA r=${cfg.r}: weights, gradients and AdamW moments of ${fmt(trainable)} parameters`, bytes: 16 * trainable },
        ];
  if (gradientAccumulation > 1) parts.push({ what: "the gradients being accumulated", bytes: 4 * trainable });
  const largest = largestUpdate(sizes);
  parts.push({ what: `AdamW's temporaries while it updates ${fmt(largest)} values at once`, bytes: 4 * UPDATE_TEMPORARIES * largest });
  parts.push({ what: "the step's activations and the allocator (measured allowance)", bytes: STEP_ALLOWANCE });
  return { bytes: parts.reduce((sum, p) => sum + p.bytes, 0), parts };
}

/** What a tfjs backend can hold: the wasm heap's 4 GiB, else the machine's memory. */
export function backendMemoryLimit(backend = tf.getBackend()): { bytes: number; what: string } {
  if (backend === "wasm") return { bytes: 4 * 2 ** 30, what: "the wasm backend's heap" };
  return { bytes: totalmem(), what: `this machine's memory (${backend} backend)` };
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(bytes < 10 * 2 ** 30 ? 2 : 1)} GiB`;
}

/** Refuses, before anything is allocated, a training setup whose step cannot fit (trainingMemoryNeed). */
export function checkTrainingMemory(c: Qwen2Config, method: "lora" | "full", lora: Partial<LoraConfig> = {}, gradientAccumulation = 1, limit = backendMemoryLimit()): void {
  const need = trainingMemoryNeed(c, method, lora, gradientAccumulation);
  if (need.bytes <= limit.bytes) return;
  const advice = method === "full" ? "train LoRA adapters instead (method lora)" : "lower the LoRA rank (lora.r, --lora-r) or adapt fewer modules";
  throw new Error(
    `This training setup needs about ${gib(need.bytes)} at the peak of a step (${need.parts.map((p) => `${p.what}: ${gib(p.bytes)}`).join("; ")}), ` +
      `more than the ${gib(limit.bytes)} of ${limit.what}: ${advice}.`,
  );
}

/** What a WebAssembly module throws when it traps or aborts (Node's global; the project's types have no DOM lib). */
const WasmRuntimeError = (globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } }).WebAssembly.RuntimeError;
const isWasmRuntimeError = (err: Error): boolean => err instanceof WasmRuntimeError;

/**
 * Whether `err` is an allocation failure: the wasm heap full (tfjs-wasm aborts, or writes through the null pointer a
 * failed malloc returned: "memory access out of bounds"), a JavaScript buffer too large, ONNX Runtime's allocator.
 */
export function isAllocationFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (isWasmRuntimeError(err)) return /^Aborted\(|memory access out of bounds/.test(err.message);
  return /Array buffer allocation failed|Invalid typed array length|Failed to allocate|bad_alloc/i.test(err.message);
}

/** An allocation failure during training, explained: what ran out, where, and what to lower. */
export class TrainingOutOfMemoryError extends Error {
  constructor(readonly where: string, override readonly cause: Error, limit = backendMemoryLimit()) {
    const wasmAbort = isWasmRuntimeError(cause);
    super(
      `Training ran out of memory during ${where} (${cause.message.split("\n")[0]}): ` +
        (wasmAbort ? `${limit.what} holds at most ${gib(limit.bytes)}` : "the machine's memory is exhausted") +
        ", and this setup needs more at its peak than the check before training estimated (weights, gradients and AdamW moments, the frozen " +
        "weights, the step's activations and the optimizer's temporaries). Lower the LoRA rank (lora.r, --lora-r), the batch size or the " +
        "sequence length (--batch-size, --max-seq-length), or adapt fewer modules (--lora-targets)." +
        (wasmAbort ? " The wasm backend cannot go on in this process; the last checkpoint is intact." : ""),
    );
    this.name = "TrainingOutOfMemoryError";
  }
}
