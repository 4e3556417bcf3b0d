import { totalmem } from "node:os";
import * as tf from "@tensorflow/tfjs";
import type { Qwen2Config } from "../model/config.js";
import { resolveLoraConfig, type LoraConfig } from "../model/lora.js";
import { countParameters } from "../model/params.js";
import type { LinearName } from "../model/weights.js";

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

/**
 * The memory a training run needs before any activation: the f32 weights, and for every trainable parameter its
 * weight, gradient and AdamW's two moments (16 bytes). A floor, not the peak (activations come on top).
 */
export function trainingMemoryFloor(c: Qwen2Config, method: "lora" | "full", lora: Partial<LoraConfig> = {}): MemoryNeed {
  const total = countParameters(c).total;
  if (method === "full") {
    return { bytes: 16 * total, parts: [{ what: `weights, gradients and AdamW moments of all ${total.toLocaleString("en-US")} parameters`, bytes: 16 * total }] };
  }
  const cfg = resolveLoraConfig(lora);
  const perLayer = cfg.targetModules.reduce((n, name) => n + cfg.r * linearDims(c, name).reduce((a, b) => a + b), 0);
  const trainable = perLayer * c.numHiddenLayers;
  const parts = [
    { what: "frozen f32 weights", bytes: 4 * total },
    { what: `LoRA r=${cfg.r}: weights, gradients and AdamW moments of ${trainable.toLocaleString("en-US")} parameters`, bytes: 16 * trainable },
  ];
  return { bytes: parts.reduce((s, p) => s + p.bytes, 0), parts };
}

/** What a tfjs backend can hold: the wasm heap's 4 GiB, else the machine's memory. */
export function backendMemoryLimit(backend = tf.getBackend()): { bytes: number; what: string } {
  if (backend === "wasm") return { bytes: 4 * 2 ** 30, what: "the wasm backend's heap" };
  return { bytes: totalmem(), what: `this machine's memory (${backend} backend)` };
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(bytes < 10 * 2 ** 30 ? 2 : 1)} GiB`;
}

/** Refuses, before anything is allocated, a training setup whose weights and optimizer state cannot fit. */
export function checkTrainingMemory(c: Qwen2Config, method: "lora" | "full", lora: Partial<LoraConfig> = {}, limit = backendMemoryLimit()): void {
  const need = trainingMemoryFloor(c, method, lora);
  if (need.bytes <= limit.bytes) return;
  const advice = method === "full" ? "train LoRA adapters instead (method lora)" : "lower the LoRA rank (lora.r, --lora-r) or adapt fewer modules";
  throw new Error(
    `This training setup needs at least ${gib(need.bytes)} before any activation (${need.parts.map((p) => `${p.what}: ${gib(p.bytes)}`).join("; ")}), ` +
      `more than the ${gib(limit.bytes)} of ${limit.what}: ${advice}.`,
  );
}
