/**
 * How a Qwen2Model's decoder layers run — not what they compute: which kernel, what a training step keeps for its
 * backward and what it recomputes, how many query rows an attention tile takes. One options object with its
 * defaults here, over which the installed environment's variables apply (src/environment.ts: the CLI reads them once
 * at start); a model's own `execution` can be changed at any time (tests and notebooks do).
 */
import { environment } from "../environment.js";

export interface ExecutionOptions {
  /** Run decoder layers as the fused ONNX Runtime graphs where they serve (CPU backends with ORT; LoRA or frozen weights). */
  fusedLayer: boolean;
  /**
   * Bytes of activations a training step may keep for its backward pass. Layers are kept first to last until it is
   * spent; the others recompute their forward in the backward (gradient checkpointing). On the fused layer they live in
   * host memory (outside the 4 GiB wasm heap), and dropout masks may use what the activations leave.
   */
  activationBytes: number;
  /** Bytes of attention scores one tile of query rows may hold ([B, heads, rows, keys] float32): sets the rows per tile. */
  attentionTileBytes: number;
  /** Rows per attention tile, fixed (overrides attentionTileBytes; tests use it to put tile edges where they want). */
  attentionTileRows?: number;
  /** A layer's weight bytes up to which decode steps run the fused graph (it reads weights as inputs and packs them per call). */
  packOnCallBytes: number;
}

const MiB = 2 ** 20;

const BUILT_IN: ExecutionOptions = {
  fusedLayer: true,
  activationBytes: 1024 * MiB,
  attentionTileBytes: 32 * MiB,
  packOnCallBytes: 8 * MiB,
};

/** The options new models start with: the built-in ones, then the installed environment's (OPENR1_*). */
export function executionDefaults(): ExecutionOptions {
  return { ...BUILT_IN, ...environment().execution };
}
