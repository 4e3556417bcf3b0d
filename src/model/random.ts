import { existsSync } from "node:fs";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { environment } from "../environment.js";
import { parseQwen2Config } from "./config.js";
import { Qwen2Model } from "./qwen2.js";
import type { LayerWeights } from "./weights.js";
import { writeSafetensors, type TensorToWrite } from "./safetensors.js";
import { writeJsonAtomic } from "../files/atomic.js";
import { seededRandom } from "../rng.js";

export interface RandomQwen2Options {
  seed?: number;
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  intermediate?: number;
  vocab?: number;
  /** Weight dtype on disk (default BF16). */
  dtype?: "BF16" | "F32";
}

/** Marks a folder createRandomQwen2 wrote: only such a folder (or an empty one) is replaced by it. */
const GENERATED_MARKER = ".openr1-random-model";

/** Qwen2.5's special tokens: <|endoftext|> (bos, pad) and <|im_end|> (end of a chat turn). */
export const QWEN25_ENDOFTEXT_ID = 151643;
export const QWEN25_IM_END_ID = 151645;

/** The small offline default: the real Qwen2.5 vocabulary (so the real tokenizer works), a tiny body. */
export const SMALL_RANDOM_QWEN2: Required<Omit<RandomQwen2Options, "dtype">> = {
  seed: 0,
  hidden: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  intermediate: 256,
  vocab: 151936,
};

/** The shape of Qwen2.5-0.5B (random weights, for benchmarks). */
export const QWEN25_05B_SHAPE: Required<Omit<RandomQwen2Options, "dtype">> = {
  seed: 0,
  hidden: 896,
  layers: 24,
  heads: 14,
  kvHeads: 2,
  intermediate: 4864,
  vocab: 151936,
};

/** The config.json of a random model: Qwen2.5's layout and special tokens with the given sizes. */
function randomConfigJson(o: Required<Omit<RandomQwen2Options, "dtype">>, dtype: "BF16" | "F32"): Record<string, unknown> {
  return {
    architectures: ["Qwen2ForCausalLM"],
    attention_dropout: 0.0,
    bos_token_id: QWEN25_ENDOFTEXT_ID,
    eos_token_id: QWEN25_IM_END_ID,
    hidden_act: "silu",
    hidden_size: o.hidden,
    initializer_range: 0.02,
    intermediate_size: o.intermediate,
    max_position_embeddings: 32768,
    max_window_layers: o.layers,
    model_type: "qwen2",
    num_attention_heads: o.heads,
    num_hidden_layers: o.layers,
    num_key_value_heads: o.kvHeads,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000.0,
    sliding_window: null,
    tie_word_embeddings: true,
    torch_dtype: dtype === "BF16" ? "bfloat16" : "float32",
    transformers_version: "4.43.4",
    use_cache: true,
    use_sliding_window: false,
    vocab_size: o.vocab,
  };
}

/**
 * Writes a randomly initialised Qwen2-architecture model in Hugging Face layout (config.json,
 * generation_config.json, model.safetensors) with tied embeddings and Qwen2.5's special token ids.
 * Deterministic: the same options give the same bytes. Weights ~ N(0, 0.02) like transformers' init,
 * norms 1, biases 0.
 */
export async function createRandomQwen2(dir: string, options: RandomQwen2Options = {}): Promise<void> {
  const o = { ...SMALL_RANDOM_QWEN2, ...options };
  const dtype = options.dtype ?? "BF16";
  if (o.hidden % o.heads !== 0 || o.heads % o.kvHeads !== 0) throw new Error(`createRandomQwen2: hidden ${o.hidden}, heads ${o.heads}, kvHeads ${o.kvHeads} do not divide`);
  const headDim = o.hidden / o.heads;
  const kv = o.kvHeads * headDim;
  const random = seededRandom(o.seed);
  const normal = (n: number, std: number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - random())) * std, th = 2 * Math.PI * random();
      out[i] = r * Math.cos(th);
      if (i + 1 < n) out[i + 1] = r * Math.sin(th);
    }
    return out;
  };
  const tensors = new Map<string, TensorToWrite>();
  const add = (name: string, shape: number[], fill?: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    tensors.set(name, { shape, data: fill === undefined ? normal(n, 0.02) : new Float32Array(n).fill(fill) });
  };
  add("model.embed_tokens.weight", [o.vocab, o.hidden]);
  add("model.norm.weight", [o.hidden], 1);
  for (let l = 0; l < o.layers; l++) {
    const p = `model.layers.${l}.`;
    add(p + "input_layernorm.weight", [o.hidden], 1);
    add(p + "post_attention_layernorm.weight", [o.hidden], 1);
    add(p + "self_attn.q_proj.weight", [o.hidden, o.hidden]);
    add(p + "self_attn.q_proj.bias", [o.hidden], 0);
    add(p + "self_attn.k_proj.weight", [kv, o.hidden]);
    add(p + "self_attn.k_proj.bias", [kv], 0);
    add(p + "self_attn.v_proj.weight", [kv, o.hidden]);
    add(p + "self_attn.v_proj.bias", [kv], 0);
    add(p + "self_attn.o_proj.weight", [o.hidden, o.hidden]);
    add(p + "mlp.gate_proj.weight", [o.intermediate, o.hidden]);
    add(p + "mlp.up_proj.weight", [o.intermediate, o.hidden]);
    add(p + "mlp.down_proj.weight", [o.hidden, o.intermediate]);
  }
  if (existsSync(dir) && (await readdir(dir)).length > 0 && !existsSync(join(dir, GENERATED_MARKER))) {
    throw new Error(`createRandomQwen2: ${dir} exists and was not written by createRandomQwen2; not replacing it (choose an empty or new folder)`);
  }
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await writeSafetensors(join(tmp, "model.safetensors"), tensors, { dtype });
  writeJsonAtomic(join(tmp, "config.json"), randomConfigJson(o, dtype));
  writeJsonAtomic(join(tmp, "generation_config.json"), {
    bos_token_id: QWEN25_ENDOFTEXT_ID,
    eos_token_id: [QWEN25_IM_END_ID, QWEN25_ENDOFTEXT_ID],
    pad_token_id: QWEN25_ENDOFTEXT_ID,
  });
  await writeFile(join(tmp, GENERATED_MARKER), "written by openr1-ts createRandomQwen2; the folder may be replaced by it\n");
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
}

/** Where generated models are cached: the environment's cache folder (OPENR1_CACHE, else ~/.cache/openr1), under models/. */
export function randomModelCacheDir(): string {
  return join(environment().cacheDir, "models");
}

/**
 * The directory of a random Qwen2 model with these options, generated on first use (deterministically)
 * and reused afterwards. Default: the small offline model (hidden 64, 2 layers, Qwen2.5 vocabulary).
 */
export async function ensureRandomQwen2(options: RandomQwen2Options = {}, cacheDir = randomModelCacheDir()): Promise<string> {
  const o = { ...SMALL_RANDOM_QWEN2, dtype: "BF16" as const, ...options };
  const name = `random-qwen2-h${o.hidden}-l${o.layers}-a${o.heads}-kv${o.kvHeads}-i${o.intermediate}-v${o.vocab}-s${o.seed}-${o.dtype.toLowerCase()}`;
  const dir = join(cacheDir, name);
  if (!existsSync(join(dir, "model.safetensors"))) {
    await mkdir(cacheDir, { recursive: true });
    await createRandomQwen2(dir, o);
  }
  return dir;
}

/**
 * A random Qwen2 model built directly in memory (no files), for benchmarks at real sizes: the same
 * config as createRandomQwen2, weights ~ N(0, 0.02) drawn by tfjs with seeds derived from `seed`.
 */
export function randomQwen2Model(options: RandomQwen2Options = {}): Qwen2Model {
  const o = { ...SMALL_RANDOM_QWEN2, ...options };
  const config = parseQwen2Config(randomConfigJson(o, "F32"), "random Qwen2 config");
  // tfjs treats a seed of 0 as "none" (Math.random): start at 1.
  let seed = o.seed * 1000 + 1;
  const H = o.hidden, I = o.intermediate, kv = config.numKeyValueHeads * config.headDim;
  const normal = (shape: [number, number]) => tf.randomNormal(shape, 0, 0.02, "float32", seed++) as tf.Tensor2D;
  const embedT = normal([H, o.vocab]);
  const layers: LayerWeights[] = Array.from({ length: o.layers }, () => ({
    inputNorm: tf.ones([H]),
    postAttentionNorm: tf.ones([H]),
    qBias: tf.zeros([H]),
    kBias: tf.zeros([kv]),
    vBias: tf.zeros([kv]),
    linears: {
      q_proj: normal([H, H]),
      k_proj: normal([H, kv]),
      v_proj: normal([H, kv]),
      o_proj: normal([H, H]),
      gate_proj: normal([H, I]),
      up_proj: normal([H, I]),
      down_proj: normal([I, H]),
    },
  }));
  return new Qwen2Model(config, { embedT, lmHeadT: embedT, norm: tf.ones([H]), layers });
}
