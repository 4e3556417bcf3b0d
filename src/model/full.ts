import * as tf from "@tensorflow/tfjs";
import type { Batch, TrainableModel } from "./trainable.js";
import type { TrainableParameterReport } from "./lora.js";
import { countParameters } from "./params.js";
import type { Qwen2Model } from "./qwen2.js";
import { LINEAR_NAMES, linearModule, type Qwen2Weights } from "./weights.js";

let nextVariableId = 0;

/**
 * Full-parameter training of a Qwen2 model (pretraining from scratch, or full fine-tuning as open-r1's SFT
 * recipes do): every weight becomes a trainable tf.Variable, in place, so the model's forward, loss,
 * generate() and saveQwen2Model() all see the trained values. Variables are keyed by their Hugging Face
 * names; linears and the embedding keep the model's in-memory layout ([in, out], embedding [hidden, vocab]),
 * which is what the trainer's checkpoints store. A tied LM head is the embedding variable itself.
 */
export class FullModel implements TrainableModel {
  private readonly params = new Map<string, tf.Variable>();

  constructor(readonly model: Qwen2Model) {
    if (model.adapters.size) throw new Error("FullModel: the model has adapters attached; train either the adapters or the weights");
    if (model.trainableWeights) throw new Error("FullModel: the model's weights are already trainable");
    const w = model.weights;
    const id = nextVariableId++;
    // tfjs variable names are global: suffix them so several models can coexist.
    const make = <T extends tf.Tensor>(name: string, t: T): T => {
      const v = tf.variable(t, true, `${name}#${id}`);
      t.dispose();
      this.params.set(name, v);
      return v as unknown as T;
    };
    const tied = w.lmHeadT === w.embedT;
    w.embedT = make("model.embed_tokens.weight", w.embedT);
    w.lmHeadT = tied ? w.embedT : make("lm_head.weight", w.lmHeadT);
    w.norm = make("model.norm.weight", w.norm);
    w.layers.forEach((layer, l) => {
      const p = `model.layers.${l}.`;
      layer.inputNorm = make(p + "input_layernorm.weight", layer.inputNorm);
      layer.postAttentionNorm = make(p + "post_attention_layernorm.weight", layer.postAttentionNorm);
      layer.qBias = make(p + "self_attn.q_proj.bias", layer.qBias);
      layer.kBias = make(p + "self_attn.k_proj.bias", layer.kBias);
      layer.vBias = make(p + "self_attn.v_proj.bias", layer.vBias);
      for (const n of LINEAR_NAMES) layer.linears[n] = make(`${p}${linearModule(n)}.${n}.weight`, layer.linears[n]);
    });
    model.trainableWeights = true;
  }

  get weights(): Qwen2Weights {
    return this.model.weights;
  }

  trainableVariables(): Map<string, tf.Variable> {
    return this.params;
  }

  /** Biases and norm weights, which transformers' Trainer leaves out of weight decay. */
  noWeightDecay(): Set<string> {
    return new Set([...this.params.keys()].filter((n) => n.endsWith(".bias") || n.endsWith("norm.weight")));
  }

  sumLoss(batch: Batch, opts: { training: boolean; seed?: number }): tf.Scalar {
    return this.model.sumLoss(batch, { training: opts.training }).sum;
  }

  trainableParameters(): TrainableParameterReport {
    const total = countParameters(this.model.config).total;
    const fmt = (n: number) => n.toLocaleString("en-US");
    return { trainable: total, total, percent: 100, text: `trainable params: ${fmt(total)} || all params: ${fmt(total)} || trainable%: 100.0000` };
  }
}
