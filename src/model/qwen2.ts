import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { byteProgress } from "../progress.js";
import { causalAttention } from "./attention.js";
import { readQwen2Config, type Qwen2Config } from "./config.js";
import { LayerRunner, type LayerContext, type LinearAdapter } from "./execution.js";
import { executionDefaults, type ExecutionOptions } from "./execution-options.js";
import type { KVCache } from "./kv-cache.js";
import { applyRope, chunkedCrossEntropySum, positionIdsFromMask, rmsNorm } from "./ops.js";
import { SafetensorsCheckpoint } from "./safetensors.js";
import { loadQwen2Weights, weightTensors, type Qwen2Weights } from "./weights.js";

export { KVCache } from "./kv-cache.js";
export type { LinearAdapter } from "./execution.js";

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
  /** Seeds the adapters' dropout masks (with training). */
  dropoutSeed?: number;
  /**
   * Recompute each layer in the backward pass instead of keeping its activations (default: the layers past what
   * `execution.activationBytes` holds; see ExecutionOptions).
   */
  recompute?: boolean;
  /** Rows per chunk of the loss's [rows, vocab] logits (default: ~64 MB of logits per chunk). */
  lossChunkRows?: number;
}

/**
 * Qwen2ForCausalLM in TensorFlow.js (transformers' modeling_qwen2): token embeddings, decoder layers of grouped-query
 * self-attention with rotary embeddings and a SwiGLU MLP, each behind an RMSNorm with a residual, a final norm and
 * the LM head. Frozen float32 weights plus optional adapters on the linears; how the layers run (kernels, memory,
 * recomputation) is the LayerRunner's (src/model/execution.ts), set by `execution`.
 */
export class Qwen2Model {
  /** Adapters keyed by `${layer}.${linear}`, e.g. "0.q_proj". */
  readonly adapters = new Map<string, LinearAdapter>();
  /**
   * Full-parameter training (set by FullModel): the weights are tf.Variables, every product takes gradients
   * to them, and the frozen-weight kernels (which copy weights into onnxruntime once) are not used.
   */
  trainableWeights = false;
  /** How the layers run (kernels, what training keeps, attention tiles): not what they compute. */
  execution: ExecutionOptions = executionDefaults();
  private readonly runner = new LayerRunner(this);

  constructor(
    readonly config: Qwen2Config,
    readonly weights: Qwen2Weights,
    /** generation_config.json as loaded, if the directory had one (written back when saving). */
    readonly generationConfig: Record<string, unknown> | null = null,
  ) {}

  /**
   * Loads a model from a local directory in Hugging Face layout (config.json + safetensors). `progress`
   * (default: when stderr is a terminal) shows a bar while the weights are read.
   */
  static async fromDirectory(dir: string, opts: { progress?: boolean } = {}): Promise<Qwen2Model> {
    const config = await readQwen2Config(dir);
    const ckpt = await SafetensorsCheckpoint.openDir(dir);
    let generationConfig: Record<string, unknown> | null = null;
    try {
      generationConfig = JSON.parse(await readFile(join(dir, "generation_config.json"), "utf8"));
    } catch {
      // optional file
    }
    try {
      const total = ckpt.names().reduce((n, k) => n + ckpt.info(k)!.end - ckpt.info(k)!.begin, 0);
      const bar = byteProgress("loading weights", total, 0, opts.progress ?? process.stderr.isTTY === true);
      try {
        return new Qwen2Model(config, await loadQwen2Weights(ckpt, config, `${dir} (${ckpt.describe()})`, (b) => bar.advance(b)), generationConfig);
      } finally {
        bar.stop();
      }
    } finally {
      await ckpt.close();
    }
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
    const past = opts.cache?.length ?? 0;
    const mask = input.attentionMask ?? ids.map(() => new Array<number>(past + L).fill(1));
    if (mask.length !== B || mask.some((r) => r.length !== past + L)) {
      throw new Error(`Qwen2Model: attention_mask must be [${B}, ${past + L}] (past ${past} + new ${L})`);
    }
    const positionIds = input.positionIds ?? positionIdsFromMask(mask).map((r) => r.slice(past));
    if (positionIds.length !== B || positionIds.some((r) => r.length !== L)) throw new Error(`Qwen2Model: position_ids must be [${B}, ${L}]`);
    const pass = { B, L, mask, positionIds, training: opts.training ?? false, dropoutSeed: opts.dropoutSeed, recompute: opts.recompute, cache: opts.cache };
    return this.runner.run(pass, (layers) => {
      let x = layers.embed(ids.flat()); // embed_tokens: [B·L, hidden]
      for (let l = 0; l < c.numHiddenLayers; l++) x = layers.layer(l, x);
      return rmsNorm(x, this.weights.norm, c.rmsNormEps);
    });
  }

  /** One decoder layer (Qwen2DecoderLayer): x + self_attn(input_layernorm(x)), then + mlp(post_attention_layernorm(·)). x is [B·L, hidden]. */
  decoderLayer(l: number, x: tf.Tensor2D, ctx: LayerContext): tf.Tensor2D {
    const c = this.config, w = this.weights.layers[l];
    const x1 = tf.add(x, this.selfAttention(l, rmsNorm(x, w.inputNorm, c.rmsNormEps), ctx)) as tf.Tensor2D;
    return tf.add(x1, this.mlp(rmsNorm(x1, w.postAttentionNorm, c.rmsNormEps), ctx)) as tf.Tensor2D;
  }

  /**
   * Qwen2Attention: q, k, v projections (with biases), rotary embeddings, causal grouped-query attention (query head
   * h reads key/value head ⌊h·kvHeads/heads⌋; the cache's past keys first), o_proj. h [B·L, hidden] -> [B·L, hidden].
   */
  private selfAttention(l: number, h: tf.Tensor2D, ctx: LayerContext): tf.Tensor2D {
    const c = this.config, w = this.weights.layers[l];
    const { B, L } = ctx, d = c.headDim;
    const heads = (t: tf.Tensor2D, n: number) => t.reshape([B, L, n, d]).transpose([0, 2, 1, 3]) as tf.Tensor4D; // [B, n, L, d]
    const [qp, kp, vp] = ctx.linears(["q_proj", "k_proj", "v_proj"], h, [w.qBias, w.kBias, w.vBias]);
    const q = applyRope(heads(qp, c.numAttentionHeads), ctx.cos, ctx.sin);
    let k = applyRope(heads(kp, c.numKeyValueHeads), ctx.cos, ctx.sin);
    let v = heads(vp, c.numKeyValueHeads);
    if (ctx.cache) {
      if (ctx.cache.past) {
        k = tf.concat([ctx.cache.past.k, k], 2); // [B, kvHeads, past + L, d]
        v = tf.concat([ctx.cache.past.v, v], 2);
      }
      ctx.cache.keep(k, v);
    }
    const out = causalAttention(q, k, v, ctx.keyBias, ctx.tile); // [B, heads, L, d]
    return ctx.linears(["o_proj"], out.transpose([0, 2, 1, 3]).reshape([B * L, c.numAttentionHeads * d]) as tf.Tensor2D)[0];
  }

  /** Qwen2MLP: down_proj(silu(gate_proj(h)) · up_proj(h)). h [B·L, hidden] -> [B·L, hidden]. */
  private mlp(h: tf.Tensor2D, ctx: LayerContext): tf.Tensor2D {
    const [gate, up] = ctx.linears(["gate_proj", "up_proj"], h); // [B·L, intermediate]
    return ctx.linears(["down_proj"], tf.mul(tf.mul(gate, tf.sigmoid(gate)), up) as tf.Tensor2D)[0];
  }

  /** Logits [N, vocab] for hidden states [N, hidden] (lm_head). */
  logitsFromHidden(h: tf.Tensor2D): tf.Tensor2D {
    return this.runner.logits(h);
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
      return chunkedCrossEntropySum(this.hiddenStates(input, opts), this.weights.lmHeadT, rows, targets, opts.lossChunkRows, this.trainableWeights, this.runner.lossHead());
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
    this.runner.dispose();
    tf.dispose(weightTensors(this.weights));
  }
}
