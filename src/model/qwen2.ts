import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { readQwen2Config, type Qwen2Config } from "./config.js";
import { applyRope, attentionBias, bmm, chunkedCrossEntropySum, frozenMatMul, positionIdsFromMask, rmsNorm, ropeTables } from "./ops.js";
import { SafetensorsCheckpoint } from "./safetensors.js";
import { loadQwen2Weights, weightTensors, type LinearName, type Qwen2Weights } from "./weights.js";

/** Something added to a frozen linear's output (a LoRA adapter): x [n, in] -> [n, out]. */
export interface LinearAdapter {
  apply(x: tf.Tensor2D, training: boolean): tf.Tensor2D;
}

/** Keys and values of past positions, per layer, [B, kvHeads, T, headDim] (after rotary embeddings). */
export class KVCache {
  readonly layers: { k: tf.Tensor4D; v: tf.Tensor4D }[] = [];
  get length(): number {
    return this.layers.length ? this.layers[0].k.shape[2] : 0;
  }
  dispose(): void {
    for (const { k, v } of this.layers) tf.dispose([k, v]);
    this.layers.length = 0;
  }
}

export interface ForwardInput {
  /** Token ids [B, L] (already padded; pad on the left for generation). */
  inputIds: number[][];
  /** [B, past + L], 1 for real tokens, 0 for padding; all ones when absent. */
  attentionMask?: number[][];
  /** [B, L]; by default derived from the mask as generate() does (cumsum - 1, padding set to 1). */
  positionIds?: number[][];
}

export interface ForwardOptions {
  /** Reads past keys/values from it and appends this call's. */
  cache?: KVCache;
  /** Turns adapter dropout on. */
  training?: boolean;
}

/** Qwen2ForCausalLM in TensorFlow.js: frozen float32 weights plus optional adapters on the linears. */
export class Qwen2Model {
  /** Adapters keyed by `${layer}.${linear}`, e.g. "0.q_proj". */
  readonly adapters = new Map<string, LinearAdapter>();

  constructor(
    readonly config: Qwen2Config,
    readonly weights: Qwen2Weights,
    /** generation_config.json as loaded, if the directory had one (written back when saving). */
    readonly generationConfig: Record<string, unknown> | null = null,
  ) {}

  /** Loads a model from a local directory in Hugging Face layout (config.json + safetensors). */
  static async fromDirectory(dir: string): Promise<Qwen2Model> {
    const config = await readQwen2Config(dir);
    const ckpt = await SafetensorsCheckpoint.openDir(dir);
    let generationConfig: Record<string, unknown> | null = null;
    try {
      generationConfig = JSON.parse(await readFile(join(dir, "generation_config.json"), "utf8"));
    } catch {
      // optional file
    }
    try {
      return new Qwen2Model(config, await loadQwen2Weights(ckpt, config, `${dir} (${ckpt.describe()})`), generationConfig);
    } finally {
      await ckpt.close();
    }
  }

  private linear(layer: number, name: LinearName, x: tf.Tensor2D, training: boolean, bias?: tf.Tensor1D): tf.Tensor2D {
    let y = frozenMatMul(x, this.weights.layers[layer].linears[name]);
    if (bias) y = tf.add(y, bias);
    const adapter = this.adapters.get(`${layer}.${name}`);
    if (adapter) y = tf.add(y, adapter.apply(x, training));
    return y;
  }

  /** Embedding lookup from the transposed table: [N] ids -> [N, hidden]. */
  private embed(ids: number[]): tf.Tensor2D {
    return tf.gather(this.weights.embedT, ids, 1).transpose() as tf.Tensor2D;
  }

  /**
   * The final hidden states (after the last RMSNorm), [B·L, hidden]. With a cache, the mask covers the
   * past and the new positions, and the cache is extended with this call's keys and values.
   */
  hiddenStates(input: ForwardInput, opts: ForwardOptions = {}): tf.Tensor2D {
    const c = this.config;
    const ids = input.inputIds;
    const B = ids.length, L = ids[0]?.length ?? 0;
    if (B === 0 || L === 0) throw new Error("Qwen2Model: empty input_ids");
    if (ids.some((r) => r.length !== L)) throw new Error("Qwen2Model: input_ids rows must have equal lengths (pad them)");
    for (const r of ids) for (const t of r) {
      if (!Number.isInteger(t) || t < 0 || t >= c.vocabSize) throw new Error(`Qwen2Model: token id ${t} outside the vocabulary [0, ${c.vocabSize})`);
    }
    const cache = opts.cache;
    const past = cache?.length ?? 0;
    const mask = input.attentionMask ?? ids.map(() => new Array<number>(past + L).fill(1));
    if (mask.length !== B || mask.some((r) => r.length !== past + L)) {
      throw new Error(`Qwen2Model: attention_mask must be [${B}, ${past + L}] (past ${past} + new ${L})`);
    }
    const positionIds = input.positionIds ?? positionIdsFromMask(mask).map((r) => r.slice(past));
    const training = opts.training ?? false;
    const H = c.numAttentionHeads, kvH = c.numKeyValueHeads, d = c.headDim, g = H / kvH, T = past + L;
    const newCache: { k: tf.Tensor4D; v: tf.Tensor4D }[] = [];
    const out = tf.tidy(() => {
      const { cos, sin } = ropeTables(positionIds, d, c.ropeTheta);
      const bias = attentionBias(mask, L);
      let x = this.embed(ids.flat());
      for (let l = 0; l < c.numHiddenLayers; l++) {
        const w = this.weights.layers[l];
        const h = rmsNorm(x, w.inputNorm, c.rmsNormEps);
        const heads = (t: tf.Tensor2D, n: number) => t.reshape([B, L, n, d]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
        const q = applyRope(heads(this.linear(l, "q_proj", h, training, w.qBias), H), cos, sin);
        let k = applyRope(heads(this.linear(l, "k_proj", h, training, w.kBias), kvH), cos, sin);
        let v = heads(this.linear(l, "v_proj", h, training, w.vBias), kvH);
        if (cache) {
          if (past > 0) {
            k = tf.concat([cache.layers[l].k, k], 2);
            v = tf.concat([cache.layers[l].v, v], 2);
          }
          newCache.push({ k: tf.keep(k), v: tf.keep(v) });
        }
        // Grouped-query attention without repeating K/V: query head h uses KV head floor(h / g).
        const qg = q.reshape([B * kvH, g * L, d]) as tf.Tensor3D;
        const kT = k.reshape([B * kvH, T, d]).transpose([0, 2, 1]) as tf.Tensor3D;
        const scores = tf.add(bmm(qg, kT).mul(1 / Math.sqrt(d)).reshape([B, kvH, g, L, T]), bias);
        const probs = tf.softmax(scores, -1).reshape([B * kvH, g * L, T]) as tf.Tensor3D;
        const ctx = bmm(probs, v.reshape([B * kvH, T, d]) as tf.Tensor3D)
          .reshape([B, H, L, d]).transpose([0, 2, 1, 3]).reshape([B * L, H * d]) as tf.Tensor2D;
        x = tf.add(x, this.linear(l, "o_proj", ctx, training));
        const h2 = rmsNorm(x, w.postAttentionNorm, c.rmsNormEps);
        const gate = this.linear(l, "gate_proj", h2, training);
        const act = tf.mul(tf.mul(gate, tf.sigmoid(gate)), this.linear(l, "up_proj", h2, training)) as tf.Tensor2D;
        x = tf.add(x, this.linear(l, "down_proj", act, training));
      }
      return rmsNorm(x, this.weights.norm, c.rmsNormEps);
    });
    if (cache) {
      cache.dispose();
      cache.layers.push(...newCache);
    }
    return out;
  }

  /** Logits [N, vocab] for hidden states [N, hidden]. */
  logitsFromHidden(h: tf.Tensor2D): tf.Tensor2D {
    return tf.matMul(h, this.weights.lmHeadT);
  }

  /** Full logits [B, L, vocab] (use for small inputs; the loss path never materialises them). */
  forward(input: ForwardInput, opts: ForwardOptions = {}): tf.Tensor3D {
    const B = input.inputIds.length, L = input.inputIds[0].length;
    return tf.tidy(() => this.logitsFromHidden(this.hiddenStates(input, opts)).reshape([B, L, this.config.vocabSize]) as tf.Tensor3D);
  }

  /**
   * Sum of the shifted next-token NLL over labels != -100 (logits[t] predict labels[t+1]), through the
   * chunked cross-entropy. Returns the sum and the number of target tokens.
   */
  sumLoss(input: ForwardInput & { labels: number[][] }, opts: ForwardOptions = {}): { sum: tf.Scalar; count: number } {
    const L = input.inputIds[0].length;
    const rows: number[] = [], targets: number[] = [];
    input.labels.forEach((row, b) => {
      if (row.length !== L) throw new Error(`Qwen2Model: labels row ${b} has length ${row.length}, input_ids ${L}`);
      for (let t = 1; t < L; t++) {
        if (row[t] === -100) continue;
        if (!Number.isInteger(row[t]) || row[t] < 0 || row[t] >= this.config.vocabSize) throw new Error(`Qwen2Model: label ${row[t]} outside the vocabulary`);
        rows.push(b * L + t - 1);
        targets.push(row[t]);
      }
    });
    const sum = tf.tidy(() => {
      if (rows.length === 0) return tf.scalar(0);
      return chunkedCrossEntropySum(this.hiddenStates(input, opts), this.weights.lmHeadT, rows, targets);
    });
    return { sum, count: rows.length };
  }

  /** Hugging Face's causal-LM loss: the mean shifted NLL over labels != -100. */
  loss(input: ForwardInput & { labels: number[][] }): tf.Scalar {
    const { sum, count } = this.sumLoss(input);
    const mean = tf.div(sum, Math.max(count, 1)) as tf.Scalar;
    sum.dispose();
    return mean;
  }

  dispose(): void {
    tf.dispose(weightTensors(this.weights));
  }
}
