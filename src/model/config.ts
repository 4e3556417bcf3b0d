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
    ropeTheta: num(r, "rope_theta", source, 10000),
    maxPositionEmbeddings: int(r, "max_position_embeddings", source, 32768),
    tieWordEmbeddings: r.tie_word_embeddings === undefined ? false : Boolean(r.tie_word_embeddings),
    hiddenAct: "silu",
    useSlidingWindow: Boolean(r.use_sliding_window ?? false),
    slidingWindow: (sw as number | null | undefined) ?? null,
    maxWindowLayers: typeof r.max_window_layers === "number" ? r.max_window_layers : numHiddenLayers,
    bosTokenId: typeof r.bos_token_id === "number" ? r.bos_token_id : null,
    eosTokenId: typeof eos === "number" || Array.isArray(eos) ? (eos as number | number[]) : null,
    torchDtype: typeof r.torch_dtype === "string" ? r.torch_dtype : "float32",
    raw: r,
  };
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
