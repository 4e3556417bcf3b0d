import * as tf from "@tensorflow/tfjs";
import { LINEAR_NAMES, type LinearName } from "../kernels/lora-layer-graph.js";
import { expectedWeightShapes, type Qwen2Config } from "./config.js";
import { SafetensorsCheckpoint } from "./safetensors.js";

// (the fused layer kernel, below the model, names the linears it fuses: one list for both)
export { LINEAR_NAMES, type LinearName };

/** The module a linear sits in: self_attn for q/k/v/o, mlp for gate/up/down. */
export function linearModule(name: LinearName): "self_attn" | "mlp" {
  return name === "q_proj" || name === "k_proj" || name === "v_proj" || name === "o_proj" ? "self_attn" : "mlp";
}

export interface LayerWeights {
  inputNorm: tf.Tensor1D;
  postAttentionNorm: tf.Tensor1D;
  /** Linear weights stored transposed, [in, out], for the untransposed matMul fast path. */
  linears: Record<LinearName, tf.Tensor2D>;
  qBias: tf.Tensor1D;
  kBias: tf.Tensor1D;
  vBias: tf.Tensor1D;
}

export interface Qwen2Weights {
  /** Token embeddings transposed, [hidden, vocab]; looked up with a gather along axis 1. */
  embedT: tf.Tensor2D;
  /** LM head transposed, [hidden, vocab]; the same tensor as embedT when embeddings are tied. */
  lmHeadT: tf.Tensor2D;
  norm: tf.Tensor1D;
  layers: LayerWeights[];
}

/** Transposes a row-major [rows, cols] matrix. */
export function transposeF32(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = src[o + c];
  }
  return out;
}

/**
 * Loads Qwen2 weights from a checkpoint, checking every tensor is present with the shape the config
 * implies, one tensor at a time (each converted to float32 and laid out for the fast path).
 */
export async function loadQwen2Weights(
  ckpt: SafetensorsCheckpoint,
  config: Qwen2Config,
  source: string,
  onBytes: (bytes: number) => void = () => {},
): Promise<Qwen2Weights> {
  const shapes = expectedWeightShapes(config);
  for (const [name, shape] of shapes) {
    const info = ckpt.info(name);
    if (!info) throw new Error(`${source}: missing tensor "${name}" (a Qwen2 checkpoint with this config.json needs it)`);
    if (info.shape.join(",") !== shape.join(",")) {
      throw new Error(`${source}: tensor "${name}" has shape [${info.shape}] but config.json implies [${shape}]`);
    }
  }
  const created: tf.Tensor[] = [];
  const read = async (name: string) => {
    const info = ckpt.info(name)!;
    const data = await ckpt.readF32(name);
    onBytes(info.end - info.begin);
    return data;
  };
  const vec = async (name: string) => {
    const t = tf.tensor1d(await read(name));
    created.push(t);
    return t;
  };
  const transposed = async (name: string) => {
    const [rows, cols] = shapes.get(name)!;
    const t = tf.tensor2d(transposeF32(await read(name), rows, cols), [cols, rows]);
    created.push(t);
    return t;
  };
  try {
    const embedT = await transposed("model.embed_tokens.weight");
    const lmHeadT = config.tieWordEmbeddings ? embedT : await transposed("lm_head.weight");
    const norm = await vec("model.norm.weight");
    const layers: LayerWeights[] = [];
    for (let l = 0; l < config.numHiddenLayers; l++) {
      const p = `model.layers.${l}.`;
      const linears = {} as Record<LinearName, tf.Tensor2D>;
      for (const n of LINEAR_NAMES) linears[n] = await transposed(`${p}${linearModule(n)}.${n}.weight`);
      layers.push({
        inputNorm: await vec(p + "input_layernorm.weight"),
        postAttentionNorm: await vec(p + "post_attention_layernorm.weight"),
        linears,
        qBias: await vec(p + "self_attn.q_proj.bias"),
        kBias: await vec(p + "self_attn.k_proj.bias"),
        vBias: await vec(p + "self_attn.v_proj.bias"),
      });
    }
    return { embedT, lmHeadT, norm, layers };
  } catch (e) {
    created.forEach((t) => t.dispose());
    throw e;
  }
}

/** A decoder layer's tensors. */
export function layerTensors(l: LayerWeights): tf.Tensor[] {
  return [l.inputNorm, l.postAttentionNorm, l.qBias, l.kBias, l.vBias, ...Object.values(l.linears)];
}

/** Every distinct tensor of the weights (the tied head is listed once). */
export function weightTensors(w: Qwen2Weights): tf.Tensor[] {
  const all: tf.Tensor[] = [w.embedT, w.norm];
  if (w.lmHeadT !== w.embedT) all.push(w.lmHeadT);
  for (const l of w.layers) all.push(...layerTensors(l));
  return all;
}

/** The weights back in Hugging Face names and layout ([out, in] linears), as float32 arrays. */
export async function exportHfTensors(w: Qwen2Weights, config: Qwen2Config): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  const plain = async (name: string, t: tf.Tensor) => out.set(name, { shape: t.shape, data: (await t.data()) as Float32Array });
  const back = async (name: string, t: tf.Tensor2D) => {
    const [rows, cols] = t.shape;
    out.set(name, { shape: [cols, rows], data: transposeF32((await t.data()) as Float32Array, rows, cols) });
  };
  await back("model.embed_tokens.weight", w.embedT);
  if (!config.tieWordEmbeddings) await back("lm_head.weight", w.lmHeadT);
  await plain("model.norm.weight", w.norm);
  for (let l = 0; l < w.layers.length; l++) {
    const p = `model.layers.${l}.`, L = w.layers[l];
    await plain(p + "input_layernorm.weight", L.inputNorm);
    await plain(p + "post_attention_layernorm.weight", L.postAttentionNorm);
    await plain(p + "self_attn.q_proj.bias", L.qBias);
    await plain(p + "self_attn.k_proj.bias", L.kBias);
    await plain(p + "self_attn.v_proj.bias", L.vBias);
    for (const n of LINEAR_NAMES) await back(`${p}${linearModule(n)}.${n}.weight`, L.linears[n]);
  }
  return out;
}
