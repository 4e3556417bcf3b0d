import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** The Qwen2 config fields the forward pass needs (names as in Hugging Face's config.json, camel-cased). */
export interface Qwen2Config {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  numKeyValueHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  hiddenAct: "silu";
  useSlidingWindow: boolean;
  slidingWindow: number | null;
  maxWindowLayers: number;
  bosTokenId: number | null;
  eosTokenId: number | number[] | null;
  /** The weights' dtype as the config names it: `dtype` (transformers ≥ 4.56) or `torch_dtype` (older). */
  torchDtype: string;
  /** The raw config.json, kept so a saved model carries every field it was loaded with. */
  raw: Record<string, unknown>;
}

function fail(source: string, msg: string): never {
  throw new Error(`${source}: ${msg}`);
}

function int(raw: Record<string, unknown>, key: string, source: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    fail(source, `"${key}" must be a positive integer, got ${JSON.stringify(raw[key])}`);
  }
  return v;
}

function num(raw: Record<string, unknown>, key: string, source: string, fallback?: number): number {
  const v = raw[key] ?? fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    fail(source, `"${key}" must be a positive number, got ${JSON.stringify(raw[key])}`);
  }
  return v;
}

/** RoPE types transformers implements (modeling_rope_utils.py ROPE_INIT_FUNCTIONS, 4.4x–5.x); only "default" is here. */
export const KNOWN_ROPE_TYPES = ["default", "linear", "dynamic", "yarn", "longrope", "llama3", "proportional"] as const;

/**
 * The RoPE base θ, from either layout transformers writes: 4.x `rope_theta` (+ `rope_scaling`, null for plain
 * RoPE) or 5.x `rope_parameters: {rope_type, rope_theta}` (flat, or one entry per layer type). As in transformers
 * 5, `rope_scaling` wins over `rope_parameters`, and a θ inside the parameters over the top-level one. Scaled or
 * partial rotary embeddings are refused by name: the model here computes plain RoPE only, and a silent default would
 * give another model (a v5 config read for its top-level rope_theta alone scores 1.7 % instead of 77.5 %).
 */
function ropeTheta(r: Record<string, unknown>, source: string): number {
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
  for (const field of ["rope_scaling", "rope_parameters"]) {
    const v = r[field];
    if (v !== undefined && v !== null && !isObject(v)) fail(source, `"${field}" must be an object or null, got ${JSON.stringify(v)}`);
  }
  const field = isObject(r.rope_scaling) ? "rope_scaling" : "rope_parameters";
  const params = isObject(r[field]) ? (r[field] as Record<string, unknown>) : {};
  const layerTypes = Array.isArray(r.layer_types) ? (r.layer_types as unknown[]) : [];
  const nested = Object.keys(params).filter((k) => layerTypes.includes(k));
  const entries = nested.length === 0
    ? [[field, params] as const]
    : nested.flatMap((k) => (isObject(params[k]) ? [[`${field}.${k}`, params[k] as Record<string, unknown>] as const] : []));
  const thetas = new Set<number>();
  for (const [where, p] of entries) {
    const type = p.rope_type ?? p.type ?? "default";
    if (type !== "default") {
      const known = (KNOWN_ROPE_TYPES as readonly unknown[]).includes(type);
      fail(source, `${where}: RoPE type ${JSON.stringify(type)} is ${known ? "not supported" : "unknown"}; this implementation computes plain ("default") rotary embeddings only`);
    }
    const partial = p.partial_rotary_factor ?? r.partial_rotary_factor;
    if (partial !== undefined && partial !== null && partial !== 1) {
      fail(source, `${where}: partial_rotary_factor ${JSON.stringify(partial)} is not supported (rotary embeddings over the whole head only)`);
    }
    thetas.add(num(p.rope_theta === undefined ? r : p, "rope_theta", source, 10000));
  }
  if (thetas.size === 0) return num(r, "rope_theta", source, 10000);
  if (thetas.size > 1) fail(source, `${field}: the layer types have different rope_theta (${[...thetas].join(", ")}), which is not supported`);
  return [...thetas][0];
}

/** Parses and validates a Qwen2 config.json object. `source` names the file in error messages. */
export function parseQwen2Config(raw: unknown, source = "config.json"): Qwen2Config {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail(source, "expected a JSON object");
  const r = raw as Record<string, unknown>;
  if (r.model_type !== undefined && r.model_type !== "qwen2") {
    fail(source, `model_type is "${String(r.model_type)}", only "qwen2" is supported`);
  }
  const hiddenAct = r.hidden_act ?? "silu";
  if (hiddenAct !== "silu") fail(source, `hidden_act "${String(hiddenAct)}" is not supported (only silu)`);
  const hiddenSize = int(r, "hidden_size", source);
  const numAttentionHeads = int(r, "num_attention_heads", source);
  const numKeyValueHeads = int(r, "num_key_value_heads", source, numAttentionHeads);
  if (hiddenSize % numAttentionHeads !== 0) {
    fail(source, `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numAttentionHeads}`);
  }
  if (numAttentionHeads % numKeyValueHeads !== 0) {
    fail(source, `num_attention_heads ${numAttentionHeads} is not divisible by num_key_value_heads ${numKeyValueHeads}`);
  }
  const headDim = hiddenSize / numAttentionHeads;
  if (headDim % 2 !== 0) fail(source, `head dimension ${headDim} must be even for rotary embeddings`);
  const sw = r.sliding_window;
  if (sw !== undefined && sw !== null && (typeof sw !== "number" || !Number.isInteger(sw) || sw <= 0)) {
    fail(source, `"sliding_window" must be a positive integer or null, got ${JSON.stringify(sw)}`);
  }
  const numHiddenLayers = int(r, "num_hidden_layers", source);
  const eos = r.eos_token_id;
  return {
    vocabSize: int(r, "vocab_size", source),
    hiddenSize,
    intermediateSize: int(r, "intermediate_size", source),
    numHiddenLayers,
    numAttentionHeads,
    numKeyValueHeads,
    headDim,
    rmsNormEps: num(r, "rms_norm_eps", source, 1e-6),
    ropeTheta: ropeTheta(r, source),
    maxPositionEmbeddings: int(r, "max_position_embeddings", source, 32768),
    tieWordEmbeddings: r.tie_word_embeddings === undefined ? false : Boolean(r.tie_word_embeddings),
    hiddenAct: "silu",
    useSlidingWindow: Boolean(r.use_sliding_window ?? false),
    slidingWindow: (sw as number | null | undefined) ?? null,
    maxWindowLayers: typeof r.max_window_layers === "number" ? r.max_window_layers : numHiddenLayers,
    bosTokenId: typeof r.bos_token_id === "number" ? r.bos_token_id : null,
    eosTokenId: typeof eos === "number" || Array.isArray(eos) ? (eos as number | number[]) : null,
    torchDtype: typeof r.dtype === "string" ? r.dtype : typeof r.torch_dtype === "string" ? r.torch_dtype : "float32",
    raw: r,
  };
}

/**
 * config.json for saving `c` with weights in `dtype`: the loaded config, readable by transformers 4.x and 5.x alike.
 * The dtype goes under the key the config used (`dtype` from transformers ≥ 4.56, `torch_dtype` before; the latter
 * when it had neither), and θ is written at the top as well: a transformers-5 config keeps it in `rope_parameters`
 * only, which 4.x (open-r1 pins 4.52) does not read, silently using 10,000.
 */
export function configForSaving(c: Qwen2Config, dtype: "bfloat16" | "float32"): Record<string, unknown> {
  const raw: Record<string, unknown> = { ...c.raw, rope_theta: c.ropeTheta };
  if ("dtype" in raw) raw.dtype = dtype;
  if ("torch_dtype" in raw || !("dtype" in raw)) raw.torch_dtype = dtype;
  return raw;
}

/** Reads `dir/config.json`. */
export async function readQwen2Config(dir: string): Promise<Qwen2Config> {
  const path = join(dir, "config.json");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new Error(`${path}: cannot read the model config (${(e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
  return parseQwen2Config(raw, path);
}

/** The shapes (HF layout, [out, in] for linears) every Qwen2 weight must have. */
export function expectedWeightShapes(c: Qwen2Config): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const H = c.hiddenSize, I = c.intermediateSize, kv = c.numKeyValueHeads * c.headDim;
  m.set("model.embed_tokens.weight", [c.vocabSize, H]);
  m.set("model.norm.weight", [H]);
  if (!c.tieWordEmbeddings) m.set("lm_head.weight", [c.vocabSize, H]);
  for (let l = 0; l < c.numHiddenLayers; l++) {
    const p = `model.layers.${l}.`;
    m.set(p + "input_layernorm.weight", [H]);
    m.set(p + "post_attention_layernorm.weight", [H]);
    m.set(p + "self_attn.q_proj.weight", [H, H]);
    m.set(p + "self_attn.q_proj.bias", [H]);
    m.set(p + "self_attn.k_proj.weight", [kv, H]);
    m.set(p + "self_attn.k_proj.bias", [kv]);
    m.set(p + "self_attn.v_proj.weight", [kv, H]);
    m.set(p + "self_attn.v_proj.bias", [kv]);
    m.set(p + "self_attn.o_proj.weight", [H, H]);
    m.set(p + "mlp.gate_proj.weight", [I, H]);
    m.set(p + "mlp.up_proj.weight", [I, H]);
    m.set(p + "mlp.down_proj.weight", [H, I]);
  }
  return m;
}
