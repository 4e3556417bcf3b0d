/**
 * How a Qwen2Model's decoder layers run — not what they compute: which kernel, what a training step keeps for its
 * backward and what it recomputes, how many query rows an attention tile takes. One options object with its
 * defaults here; an entry point (the CLI, a bench) reads overrides from the environment once with
 * `executionFromEnv` and installs them with `setExecutionDefaults` before it loads models; a model's own
 * `execution` can be changed afterwards (tests do).
 */

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

let defaults: ExecutionOptions = {
  fusedLayer: true,
  activationBytes: 1024 * MiB,
  attentionTileBytes: 32 * MiB,
  packOnCallBytes: 8 * MiB,
};

/** The options new models start with. */
export function executionDefaults(): ExecutionOptions {
  return { ...defaults };
}

/** Changes the options models loaded from now on start with. */
export function setExecutionDefaults(options: Partial<ExecutionOptions>): void {
  defaults = { ...defaults, ...options };
}

/** The environment's overrides, for an entry point (names and meanings: docs/configuration.md). */
export function executionFromEnv(env: Record<string, string | undefined>): Partial<ExecutionOptions> {
  const out: Partial<ExecutionOptions> = {};
  const mib = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === "") return undefined;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a number of MiB ≥ 0, got "${raw}"`);
    return v * MiB;
  };
  if (env.OPENR1_FUSED_LAYER !== undefined && env.OPENR1_FUSED_LAYER !== "") out.fusedLayer = env.OPENR1_FUSED_LAYER !== "0";
  const activation = mib("OPENR1_ACTIVATION_MB");
  if (activation !== undefined) out.activationBytes = activation;
  const tile = mib("OPENR1_ATTENTION_TILE_MB");
  if (tile !== undefined) out.attentionTileBytes = tile;
  const pack = mib("OPENR1_PACK_ON_CALL_MB");
  if (pack !== undefined) out.packOnCallBytes = pack;
  return out;
}
