/**
 * How a Qwen2 model's layers run, apart from what they compute (src/model/qwen2.ts): the fused ONNX Runtime layer or
 * the tfjs one, what a training step keeps for its backward and what it recomputes (gradient checkpointing, within
 * ExecutionOptions.activationBytes), the frozen products' kernels and their replay in a recomputed layer, attention
 * tiles, the KV cache's bookkeeping, and vocabulary tables split for a GPU's binding limit. Qwen2Model calls it
 * through `run` (one forward pass), `logits` and `lossHead`; it calls back the model's `decoderLayer` for the tfjs
 * layer, with a LayerContext that supplies the linears.
 */
import * as tf from "@tensorflow/tfjs";
import { FEW_ROWS, frozenConcatFor, frozenLinearFor, loraLayerKernelFor, type FrozenLinear, type LoraLayerKernel } from "../kernels/index.js";
import { bindingLimitBytes } from "../webgpu.js";
import { attentionTileRows } from "./attention.js";
import type { Qwen2Config } from "./config.js";
import { fillDropoutMultiplier } from "./dropout.js";
import type { ExecutionOptions } from "./execution-options.js";
import type { KVCache } from "./kv-cache.js";
import { columnShards, embedLookup, frozenMatMul, gatherColumns, keyBias, linearMatMul, lookupColumns, matMulShards, ropeTables, type ColumnShards } from "./ops.js";
import { layerTensors, LINEAR_NAMES, type LinearName, type Qwen2Weights } from "./weights.js";

/** Something added to a frozen linear's output (a LoRA adapter): x [n, in] -> [n, out]. */
export interface LinearAdapter {
  /** `seed` seeds the dropout mask when training. */
  apply(x: tf.Tensor2D, training: boolean, seed?: number): tf.Tensor2D;
  /** The trainable variables the output depends on. */
  variables(): tf.Variable[];
  /** A low-rank adapter's factors (LoRA: y += scaling · dropout(x)·Aᵀ·Bᵀ), for the fused layer kernel. */
  lowRank?(): { A: tf.Tensor2D; B: tf.Tensor2D; scaling: number; dropout: number };
}

/** What a decoder layer reads besides its input, for one forward pass. */
export interface LayerContext {
  B: number;
  L: number;
  /** RoPE tables [B, 1, L, headDim]. */
  cos: tf.Tensor4D;
  sin: tf.Tensor4D;
  /** Per key, 0 or MASK.PADDING: [B, past + L]. */
  keyBias: tf.Tensor2D;
  /** Query rows per attention tile. */
  tile: number;
  /** The layer's linears that share the input x (q/k/v, gate/up, o, down): frozen product (+ bias) + adapter, [B·L, out] each. */
  linears(names: LinearName[], x: tf.Tensor2D, biases?: tf.Tensor1D[]): tf.Tensor2D[];
  /** With a KV cache: the layer's past keys and values, and where its new ones (past + this call's) go. */
  cache?: { past?: { k: tf.Tensor4D; v: tf.Tensor4D }; keep(k: tf.Tensor4D, v: tf.Tensor4D): void };
}

/** What the runner needs of the model. */
export interface RunModel {
  readonly config: Qwen2Config;
  readonly weights: Qwen2Weights;
  /** Adapters keyed by `${layer}.${linear}`. */
  readonly adapters: Map<string, LinearAdapter>;
  /** Full-parameter training: the weights are variables (no frozen-weight kernels). */
  readonly trainableWeights: boolean;
  readonly execution: ExecutionOptions;
  /** The tfjs decoder layer: x [B·L, hidden] -> [B·L, hidden]. */
  decoderLayer(l: number, x: tf.Tensor2D, ctx: LayerContext): tf.Tensor2D;
}

/** One forward pass's inputs, checked by the model. */
export interface Pass {
  B: number;
  L: number;
  /** [B, past + L] */
  mask: number[][];
  /** [B, L] */
  positionIds: number[][];
  training: boolean;
  dropoutSeed?: number;
  /** ForwardOptions.recompute: true keeps nothing for the backward, false keeps everything, absent follows the budget. */
  recompute?: boolean;
  cache?: KVCache;
}

/** The layers of one pass, as the model's forward walks them. */
export interface Layers {
  /** Embedding lookup: [N] ids -> [N, hidden]. */
  embed(ids: number[]): tf.Tensor2D;
  /** Decoder layer l, however it runs: [B·L, hidden] -> [B·L, hidden]. */
  layer(l: number, x: tf.Tensor2D): tf.Tensor2D;
}

interface Step extends Pass {
  past: number;
  tile: number;
  /** Frozen products of a checkpointed layer: recorded going forward, reused when it is recomputed. */
  frozen?: FrozenProducts;
}

interface FrozenProducts {
  outputs: tf.Tensor2D[];
  replay: boolean;
  next: number;
}

type FusedAdapter = { linear: LinearName; A: tf.Tensor2D; B: tf.Tensor2D; dropout: number };

/**
 * Bytes the autodiff tape keeps for one tfjs layer's backward per token, measured on the wasm backend with LoRA on
 * all seven linears (attention keeps q, k and v only: it recomputes its probabilities).
 */
function keptBytesPerToken(c: Qwen2Config): number {
  return 4 * (50 * c.hiddenSize + 20 * c.intermediateSize);
}

/** A frozen product whose value was computed before: returns it, and dy·Wᵀ as the gradient for x. */
function replayedProduct(x: tf.Tensor2D, value: tf.Tensor2D, unit: FrozenLinear): tf.Tensor2D {
  const f = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
    void inputs;
    return { value: value.clone(), gradFunc: (dy: tf.Tensor) => unit.backward(dy as tf.Tensor2D) };
  });
  return f(x) as tf.Tensor2D;
}

export class LayerRunner {
  /** Vocabulary-sized tables too large for one GPU kernel, by columns (built on first use). */
  private readonly shardCache = new Map<tf.Tensor2D, ColumnShards>();

  constructor(private readonly model: RunModel) {}

  /**
   * One forward pass: `body` walks the layers (embedding, decoder layers, final norm) and returns the hidden states.
   * With a cache, the mask covers the past and the new positions, and the cache is extended with this pass's keys
   * and values (only when the pass succeeds).
   */
  run(pass: Pass, body: (layers: Layers) => tf.Tensor2D): tf.Tensor2D {
    const c = this.model.config, x = this.model.execution;
    const past = pass.cache?.length ?? 0;
    // (on a GPU a tile's scores must also fit one storage binding)
    const tileBytes = Math.min(x.attentionTileBytes, bindingLimitBytes());
    const step: Step = { ...pass, past, tile: x.attentionTileRows ?? attentionTileRows(pass.B, c.numAttentionHeads, past + pass.L, tileBytes) };
    const newCache: { k: tf.Tensor4D; v: tf.Tensor4D }[] = [];
    let out: tf.Tensor2D;
    try {
      out = tf.tidy(() => body(this.layers(step, newCache)));
    } catch (e) {
      tf.dispose(newCache.flatMap(({ k, v }) => [k, v]));
      throw e;
    }
    if (pass.cache) {
      pass.cache.dispose();
      pass.cache.layers.push(...newCache);
    }
    return out;
  }

  /** The layers of one pass: what each keeps for its backward, which kernel runs it. */
  private layers(step: Step, newCache: { k: tf.Tensor4D; v: tf.Tensor4D }[]): Layers {
    const m = this.model, c = m.config, budget = m.execution.activationBytes, cache = step.cache;
    const { cos, sin } = ropeTables(step.positionIds, c.headDim, c.ropeTheta);
    const bias = keyBias(step.mask);
    const linears = Object.values(m.weights.layers[0].linears);
    // What a layer keeps for its backward: every linear's output, and (the fused layer) both norms' outputs.
    const savedPerLayer = step.B * step.L * (linears.reduce((n, w) => n + w.shape[1], 0) + 2 * c.hiddenSize) * 4;
    // What all layers' kept activations take of the budget (dropout masks may use the rest).
    const activations = Math.min(c.numHiddenLayers, Math.floor(budget / savedPerLayer)) * savedPerLayer;
    // The tfjs layer's tape past the budget: recompute in the backward.
    const recompute = (step.recompute ?? (step.training && step.B * step.L * c.numHiddenLayers * keptBytesPerToken(c) > budget)) && !cache;
    // Packing a layer's weights on every call (the fused kernel reads them as inputs) costs a decode step more
    // than the products themselves past a few MB (measured: 2.5× at the 0.5B shape's 60 MB, 8 rows).
    const largeLayer = linears.reduce((n, w) => n + w.size, 0) * 4 > m.execution.packOnCallBytes;
    const context = (l: number, s: Step): LayerContext => ({
      B: s.B, L: s.L, cos, sin, keyBias: bias, tile: s.tile,
      linears: (names, x, biases) => this.linears(l, names, x, s, biases),
      cache: cache && { past: cache.layers[l], keep: (k, v) => newCache.push({ k: tf.keep(k), v: tf.keep(v) }) },
    });
    return {
      embed: (ids) => this.embed(ids),
      layer: (l, xin) => {
        // Decode steps (few rows) of large layers keep the tfjs layer: its products read weights MLAS packed once.
        const fused = cache && step.B * step.L <= FEW_ROWS && largeLayer ? null : this.fusedLayer(l, step.training && !cache);
        // One tidy per layer frees its intermediates before the next (the tape keeps what backward needs).
        if (fused && cache) {
          return tf.tidy(() => {
            const { y, k, v } = fused.kernel.infer({ ...this.fusedInputs(l, xin, cos, sin, bias, step, fused.adapters), past: cache.layers[l] });
            newCache.push({ k: tf.keep(k), v: tf.keep(v) });
            return y;
          });
        }
        if (fused) {
          // Activations are kept only where gradients can be asked for (adapters), first layers first.
          const save = fused.adapters.length > 0 && step.recompute !== true && (l + 1) * savedPerLayer <= budget;
          // Its dropout masks too, in what the layers' activations leave of the budget: else the backward draws them again.
          const masks = step.B * step.L * fused.adapters.reduce((n, a) => n + a.A.shape[1], 0) * 4;
          const keepMasks = save && activations + (l + 1) * masks <= budget;
          return tf.tidy(() => this.fusedDecoderLayer(l, xin, cos, sin, bias, step, fused.kernel, fused.adapters, save, keepMasks));
        }
        return tf.tidy(() => {
          if (recompute) return this.checkpointedLayer(l, xin, step, context, (l + 1) * savedPerLayer <= budget);
          return m.decoderLayer(l, xin, context(l, step));
        });
      },
    };
  }

  /**
   * Linears that share their input x (q/k/v, gate/up), each with its frozen product, optional bias and
   * adapter. On onnxruntime the frozen products run as one product over the concatenated weights.
   */
  private linears(layer: number, names: LinearName[], x: tf.Tensor2D, s: Step, biases?: tf.Tensor1D[]): tf.Tensor2D[] {
    const m = this.model;
    const ws = names.map((n) => m.weights.layers[layer].linears[n]);
    const unit = m.trainableWeights ? null : ws.length > 1 ? frozenConcatFor(ws, biases) : frozenLinearFor(ws[0]);
    let product: tf.Tensor2D[];
    if (unit) {
      // A recomputed layer reuses the frozen products of its forward pass (a third of its FLOPs).
      const rec = s.frozen;
      const y = rec?.replay ? replayedProduct(x, rec.outputs[rec.next++], unit) : unit.apply(x);
      if (rec && !rec.replay) rec.outputs.push(y);
      product = ws.length > 1 ? (tf.split(y, ws.map((w) => w.shape[1]), 1) as tf.Tensor2D[]) : [y];
    } else {
      const matMul = m.trainableWeights ? linearMatMul : frozenMatMul;
      product = ws.map((w, i) => (biases ? tf.add(matMul(x, w), biases[i]) : matMul(x, w)) as tf.Tensor2D);
    }
    return product.map((y, i) => {
      const adapter = m.adapters.get(`${layer}.${names[i]}`);
      if (!adapter) return y;
      return tf.add(y, adapter.apply(x, s.training, this.dropoutSeed(s, layer, names[i]))) as tf.Tensor2D;
    });
  }

  /** A seed per (call, layer, linear): a recomputed layer draws the same dropout masks. */
  private dropoutSeed(s: Step, layer: number, linear: LinearName): number | undefined {
    return s.dropoutSeed === undefined ? undefined : (s.dropoutSeed * this.model.config.numHiddenLayers + layer) * 7 + LINEAR_NAMES.indexOf(linear);
  }

  /**
   * The layer's adapters (none or LoRA) as the fused ONNX Runtime kernel takes them (src/kernels/lora-layer.ts),
   * or null where that kernel does not serve: no ORT or not a CPU backend, full-parameter training, adapters that
   * are not LoRA, or execution.fusedLayer off.
   */
  private fusedLayer(layer: number, training: boolean): { kernel: LoraLayerKernel; adapters: FusedAdapter[] } | null {
    const m = this.model;
    if (m.trainableWeights || !m.execution.fusedLayer) return null;
    const adapters: (FusedAdapter & { scaling: number })[] = [];
    for (const linear of LINEAR_NAMES) {
      const a = m.adapters.get(`${layer}.${linear}`);
      if (!a) continue;
      const f = a.lowRank?.();
      if (!f) return null;
      adapters.push({ linear, ...f });
    }
    if (adapters.some((a) => a.scaling !== adapters[0].scaling)) return null;
    const c = m.config;
    const kernel = loraLayerKernelFor(
      { hidden: c.hiddenSize, intermediate: c.intermediateSize, heads: c.numAttentionHeads, kvHeads: c.numKeyValueHeads, headDim: c.headDim, eps: c.rmsNormEps },
      { linears: adapters.map((a) => a.linear), scaling: adapters[0]?.scaling ?? 1, dropout: training && adapters.some((a) => a.dropout > 0) },
    );
    return kernel && { kernel, adapters };
  }

  /**
   * A decoder layer with LoRA adapters (or none) as one ONNX Runtime op, forward and backward
   * (src/kernels/lora-layer.ts): the same function as the model's decoderLayer, its activations (with `save`) and
   * dropout masks (with `keepMasks`) kept in host memory for the backward (else the backward recomputes the layer,
   * or draws the masks again).
   */
  private fusedDecoderLayer(l: number, x: tf.Tensor2D, cos: tf.Tensor4D, sin: tf.Tensor4D, bias: tf.Tensor2D, s: Step, kernel: LoraLayerKernel, adapters: FusedAdapter[], save: boolean, keepMasks: boolean): tf.Tensor2D {
    const rates = new Map(adapters.map((a) => [a.linear, a.dropout]));
    // Masks drawn again for the backward pass use the same seed.
    const seeds = new Map(adapters.map((a) => [a.linear, this.dropoutSeed(s, l, a.linear) ?? Math.floor(Math.random() * 2 ** 32)]));
    return kernel.apply({
      ...this.fusedInputs(l, x, cos, sin, bias, s, adapters),
      save,
      keepMasks,
      // The first layer's input is the frozen embeddings' output: nothing upstream wants its gradient.
      inputGrad: l > 0,
      mask: (linear, out) => fillDropoutMultiplier(out, rates.get(linear)!, seeds.get(linear)!),
    });
  }

  /** What the fused kernel reads for layer l, in its order. */
  private fusedInputs(l: number, x: tf.Tensor2D, cos: tf.Tensor4D, sin: tf.Tensor4D, keyBias: tf.Tensor2D, s: Step, adapters: FusedAdapter[]) {
    const w = this.model.weights.layers[l], lin = w.linears;
    return {
      x, B: s.B, L: s.L, cos, sin, keyBias, tile: s.tile, adapters,
      weights: [lin.q_proj, lin.k_proj, lin.v_proj, w.qBias, w.kBias, w.vBias, lin.o_proj, lin.gate_proj, lin.up_proj, lin.down_proj, w.inputNorm, w.postAttentionNorm],
    };
  }

  /**
   * A tfjs decoder layer whose activations are not kept for the backward pass: only its input and its frozen
   * products' outputs are saved, and the backward recomputes the rest of the layer (selective gradient
   * checkpointing: the frozen products are a third of a step's FLOPs and a small part of a layer's
   * activations). Gradients flow to x and to the layer's adapter variables (and weights, training them all).
   */
  private checkpointedLayer(l: number, x: tf.Tensor2D, s: Step, context: (l: number, s: Step) => LayerContext, saveFrozen: boolean): tf.Tensor2D {
    const m = this.model;
    const vars: tf.Variable[] = [];
    for (const [key, a] of m.adapters) if (key.startsWith(`${l}.`)) vars.push(...a.variables());
    if (m.trainableWeights) vars.push(...(layerTensors(m.weights.layers[l]) as tf.Variable[]));
    const f = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const save = inputs[inputs.length - 1] as tf.GradSaveFunc;
      const xin = inputs[0] as tf.Tensor2D;
      const frozen: FrozenProducts | undefined = saveFrozen ? { outputs: [], replay: false, next: 0 } : undefined;
      const ctx = context(l, { ...s, frozen });
      const value = m.decoderLayer(l, xin, ctx);
      // Kept for the backward pass (and freed with the tape when no gradient is taken); the frozen
      // products in host memory (dataSync copies), restored into the heap for this layer's backward only.
      save([xin, ctx.cos, ctx.sin, ctx.keyBias]);
      const host = frozen?.outputs.map((t) => ({ data: t.dataSync() as Float32Array, shape: t.shape }));
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, cos, sin, keyBias] = saved as [tf.Tensor2D, tf.Tensor4D, tf.Tensor4D, tf.Tensor2D];
          const outputs = host?.map(({ data, shape }) => tf.tensor2d(data, shape));
          if (host) host.length = 0;
          const again = { ...context(l, { ...s, frozen: outputs && { outputs, replay: true, next: 0 } }), cos, sin, keyBias };
          // tf.grads inside a backward pass replaces and then clears the engine's tape: keep the outer one.
          const state = tf.engine().state;
          const outerTape = state.activeTape;
          try {
            return tf.grads((...args: tf.Tensor[]) => m.decoderLayer(l, args[0] as tf.Tensor2D, again))([xs, ...vars], dy);
          } finally {
            state.activeTape = outerTape;
            tf.dispose(outputs ?? []);
          }
        },
      };
    });
    return f(x, ...vars) as tf.Tensor2D;
  }

  /**
   * The table [hidden, vocab] by columns when it is over the GPU's binding limit (null when it fits: always off
   * WebGPU). Its values are still on the host then (no kernel could have read it), where the shards are cut from.
   */
  private vocabShards(table: tf.Tensor2D): ColumnShards | null {
    const limit = bindingLimitBytes();
    if (table.size * 4 <= limit) return null;
    if (this.model.trainableWeights) {
      throw new Error(`The ${table.shape[1]}-token vocabulary table (${(table.size * 4 / 2 ** 20).toFixed(0)} MiB) is over this GPU's binding limit: full-parameter training cannot split it; train LoRA adapters instead`);
    }
    let shards = this.shardCache.get(table);
    if (!shards) {
      shards = columnShards(table.dataSync() as Float32Array, table.shape[0], table.shape[1], limit);
      shards.shards.forEach((t) => tf.keep(t)); // first built inside a forward pass's tidy
      this.shardCache.set(table, shards);
    }
    return shards;
  }

  /** Embedding lookup from the transposed table: [N] ids -> [N, hidden]. */
  private embed(ids: number[]): tf.Tensor2D {
    const { weights, trainableWeights } = this.model;
    if (trainableWeights) return embedLookup(weights.embedT, ids);
    const shards = this.vocabShards(weights.embedT);
    if (shards) return gatherColumns(shards, ids).transpose();
    return lookupColumns(weights.embedT, ids);
  }

  /** Logits [N, vocab] for hidden states [N, hidden]. */
  logits(h: tf.Tensor2D): tf.Tensor2D {
    const { weights, trainableWeights } = this.model;
    // A decode step's few rows read the head prepacked on onnxruntime (built on first use).
    const fast = h.shape[0] <= FEW_ROWS && !trainableWeights ? frozenLinearFor(weights.lmHeadT) : null;
    if (fast) return fast.apply(h);
    const shards = this.vocabShards(weights.lmHeadT);
    return shards ? matMulShards(h, shards) : tf.matMul(h, weights.lmHeadT);
  }

  /** The LM head by shards for the chunked loss when it is over a GPU's binding limit (else undefined). */
  lossHead(): { head: ColumnShards; maxBytes: number } | undefined {
    const head = this.model.trainableWeights ? null : this.vocabShards(this.model.weights.lmHeadT);
    return head ? { head, maxBytes: bindingLimitBytes() } : undefined;
  }

  dispose(): void {
    for (const { shards } of this.shardCache.values()) tf.dispose(shards);
    this.shardCache.clear();
  }
}
