import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { byteProgress } from "../hub/progress.js";
import { readQwen2Config, type Qwen2Config } from "./config.js";
import { FEW_ROWS, frozenConcatFor, frozenLinearFor, loraLayerKernelFor, type FrozenLinear, type LoraLayerKernel } from "../kernels/index.js";
import { fillDropoutMultiplier } from "./dropout.js";
import { bindingLimitBytes } from "../webgpu.js";
import { attentionTileRows, causalAttention } from "./attention.js";
import { executionDefaults, type ExecutionOptions } from "./execution.js";
import {
  applyRope, chunkedCrossEntropySum, columnShards, embedLookup, frozenMatMul, gatherColumns, keyBias, linearMatMul, lookupColumns,
  matMulShards, positionIdsFromMask, rmsNorm, ropeTables, type ColumnShards,
} from "./ops.js";
import { SafetensorsCheckpoint } from "./safetensors.js";
import { layerTensors, LINEAR_NAMES, loadQwen2Weights, weightTensors, type LinearName, type Qwen2Weights } from "./weights.js";

/** Something added to a frozen linear's output (a LoRA adapter): x [n, in] -> [n, out]. */
export interface LinearAdapter {
  /** `seed` seeds the dropout mask when training. */
  apply(x: tf.Tensor2D, training: boolean, seed?: number): tf.Tensor2D;
  /** The trainable variables the output depends on. */
  variables(): tf.Variable[];
  /** A low-rank adapter's factors (LoRA: y += scaling · dropout(x)·Aᵀ·Bᵀ), for the fused layer kernel. */
  lowRank?(): { A: tf.Tensor2D; B: tf.Tensor2D; scaling: number; dropout: number };
}

interface LayerStep {
  B: number;
  L: number;
  past: number;
  training: boolean;
  dropoutSeed?: number;
  /** Recomputing in the backward pass was asked for (ForwardOptions.recompute): the fused layer keeps nothing. */
  forceRecompute?: boolean;
  /** Frozen products of a checkpointed layer: recorded going forward, reused when it is recomputed. */
  frozen?: FrozenProducts;
  /** Query rows per attention tile. */
  tile: number;
}

interface FrozenProducts {
  outputs: tf.Tensor2D[];
  replay: boolean;
  next: number;
}

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

/** Qwen2ForCausalLM in TensorFlow.js: frozen float32 weights plus optional adapters on the linears. */
export class Qwen2Model {
  /** Adapters keyed by `${layer}.${linear}`, e.g. "0.q_proj". */
  readonly adapters = new Map<string, LinearAdapter>();
  /**
   * Full-parameter training (set by FullModel): the weights are tf.Variables, every product takes gradients
   * to them, and the frozen-weight kernels (which copy weights into onnxruntime once) are not used.
   */
  trainableWeights = false;
  /** Vocabulary-sized tables too large for one GPU kernel, by columns (built on first use). */
  private readonly shardCache = new Map<tf.Tensor2D, ColumnShards>();
  /** How the layers run (kernels, what training keeps, attention tiles): not what they compute. */
  execution: ExecutionOptions = executionDefaults();

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
   * Linears that share their input x (q/k/v, gate/up), each with its frozen product, optional bias and
   * adapter. On onnxruntime the frozen products run as one product over the concatenated weights.
   */
  private linears(layer: number, names: LinearName[], x: tf.Tensor2D, s: LayerStep, biases?: tf.Tensor1D[]): tf.Tensor2D[] {
    const ws = names.map((n) => this.weights.layers[layer].linears[n]);
    const unit = this.trainableWeights ? null : ws.length > 1 ? frozenConcatFor(ws, biases) : frozenLinearFor(ws[0]);
    let product: tf.Tensor2D[];
    if (unit) {
      // A recomputed layer reuses the frozen products of its forward pass (a third of its FLOPs).
      const rec = s.frozen;
      const y = rec?.replay ? replayedProduct(x, rec.outputs[rec.next++], unit) : unit.apply(x);
      if (rec && !rec.replay) rec.outputs.push(y);
      product = ws.length > 1 ? (tf.split(y, ws.map((w) => w.shape[1]), 1) as tf.Tensor2D[]) : [y];
    } else {
      const matMul = this.trainableWeights ? linearMatMul : frozenMatMul;
      product = ws.map((w, i) => (biases ? tf.add(matMul(x, w), biases[i]) : matMul(x, w)) as tf.Tensor2D);
    }
    return product.map((y, i) => {
      const adapter = this.adapters.get(`${layer}.${names[i]}`);
      if (!adapter) return y;
      return tf.add(y, adapter.apply(x, s.training, this.dropoutSeed(s, layer, names[i]))) as tf.Tensor2D;
    });
  }

  /** A seed per (call, layer, linear): a recomputed layer draws the same dropout masks. */
  private dropoutSeed(s: LayerStep, layer: number, linear: LinearName): number | undefined {
    return s.dropoutSeed === undefined ? undefined : (s.dropoutSeed * this.config.numHiddenLayers + layer) * 7 + LINEAR_NAMES.indexOf(linear);
  }

  /**
   * The layer's adapters (none or LoRA) as the fused ONNX Runtime kernel takes them (src/kernels/lora-layer.ts),
   * or null where that kernel does not serve: no ORT or not a CPU backend, full-parameter training, adapters that
   * are not LoRA, or execution.fusedLayer off.
   */
  private fusedLayer(layer: number, training: boolean): { kernel: LoraLayerKernel; adapters: { linear: LinearName; A: tf.Tensor2D; B: tf.Tensor2D; dropout: number }[] } | null {
    if (this.trainableWeights || !this.execution.fusedLayer) return null;
    const adapters: { linear: LinearName; A: tf.Tensor2D; B: tf.Tensor2D; scaling: number; dropout: number }[] = [];
    for (const linear of LINEAR_NAMES) {
      const a = this.adapters.get(`${layer}.${linear}`);
      if (!a) continue;
      const f = a.lowRank?.();
      if (!f) return null;
      adapters.push({ linear, ...f });
    }
    if (adapters.some((a) => a.scaling !== adapters[0].scaling)) return null;
    const c = this.config;
    const kernel = loraLayerKernelFor(
      { hidden: c.hiddenSize, intermediate: c.intermediateSize, heads: c.numAttentionHeads, kvHeads: c.numKeyValueHeads, headDim: c.headDim, eps: c.rmsNormEps },
      { linears: adapters.map((a) => a.linear), scaling: adapters[0]?.scaling ?? 1, dropout: training && adapters.some((a) => a.dropout > 0) },
    );
    return kernel && { kernel, adapters };
  }

  /**
   * The table [hidden, vocab] by columns when it is over the GPU's binding limit (null when it fits: always off
   * WebGPU). Its values are still on the host then (no kernel could have read it), where the shards are cut from.
   */
  private vocabShards(table: tf.Tensor2D): ColumnShards | null {
    const limit = bindingLimitBytes();
    if (table.size * 4 <= limit) return null;
    if (this.trainableWeights) {
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
    if (this.trainableWeights) return embedLookup(this.weights.embedT, ids);
    const shards = this.vocabShards(this.weights.embedT);
    if (shards) return gatherColumns(shards, ids).transpose();
    return lookupColumns(this.weights.embedT, ids);
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
    if (positionIds.length !== B || positionIds.some((r) => r.length !== L)) throw new Error(`Qwen2Model: position_ids must be [${B}, ${L}]`);
    const training = opts.training ?? false;
    const kept = B * L * c.numHiddenLayers * keptBytesPerToken(c);
    const recompute = (opts.recompute ?? (training && kept > this.execution.activationBytes)) && !cache;
    // (on a GPU a tile's scores must also fit one storage binding)
    const tileBytes = Math.min(this.execution.attentionTileBytes, bindingLimitBytes());
    const tile = this.execution.attentionTileRows ?? attentionTileRows(B, c.numAttentionHeads, past + L, tileBytes);
    const newCache: { k: tf.Tensor4D; v: tf.Tensor4D }[] = [];
    let out: tf.Tensor2D;
    try {
      out = this.runLayers(ids, mask, positionIds, { B, L, past, training, dropoutSeed: opts.dropoutSeed, forceRecompute: opts.recompute === true, tile }, recompute, cache, newCache);
    } catch (e) {
      tf.dispose(newCache.flatMap(({ k, v }) => [k, v]));
      throw e;
    }
    if (cache) {
      cache.dispose();
      cache.layers.push(...newCache);
    }
    return out;
  }

  /** Embeddings, the decoder layers and the final norm; new keys/values are pushed to newCache. */
  private runLayers(
    ids: number[][],
    mask: number[][],
    positionIds: number[][],
    step: LayerStep,
    recompute: boolean,
    cache: KVCache | undefined,
    newCache: { k: tf.Tensor4D; v: tf.Tensor4D }[],
  ): tf.Tensor2D {
    const c = this.config;
    return tf.tidy(() => {
      const { cos, sin } = ropeTables(positionIds, c.headDim, c.ropeTheta);
      let x = this.embed(ids.flat());
      const linears = Object.values(this.weights.layers[0].linears);
      // What a layer keeps for its backward: every linear's output, and (the fused layer) both norms' outputs.
      const savedPerLayer = step.B * step.L * (linears.reduce((n, w) => n + w.shape[1], 0) + 2 * c.hiddenSize) * 4;
      const bias = keyBias(mask);
      // Packing a layer's weights on every call (the fused kernel reads them as inputs) costs a decode step more
      // than the products themselves past a few MB (measured: 2.5× at the 0.5B shape's 60 MB, 8 rows).
      const largeLayer = linears.reduce((n, w) => n + w.size, 0) * 4 > this.execution.packOnCallBytes;
      const budget = this.execution.activationBytes;
      // What all layers' kept activations take of it (dropout masks may use the rest).
      const activations = Math.min(c.numHiddenLayers, Math.floor(budget / savedPerLayer)) * savedPerLayer;
      for (let l = 0; l < c.numHiddenLayers; l++) {
        // One tidy per layer frees its intermediates before the next (the tape keeps what backward needs).
        const xin = x;
        // Decode steps (few rows) of large layers keep the layer below: its products read weights MLAS packed once.
        const fused = cache && step.B * step.L <= FEW_ROWS && largeLayer ? null : this.fusedLayer(l, step.training && !cache);
        if (fused) {
          if (cache) {
            x = tf.tidy(() => {
              const { y, k, v } = fused.kernel.infer({ ...this.fusedInputs(l, xin, cos, sin, bias, step, fused), past: cache.layers[l] });
              newCache.push({ k: tf.keep(k), v: tf.keep(v) });
              return y;
            });
          } else {
            // Activations are kept only where gradients can be asked for (adapters).
            const save = fused.adapters.length > 0 && !step.forceRecompute && (l + 1) * savedPerLayer <= budget;
            // Its dropout masks too, in what the layers' activations leave of the budget: else the backward draws them again.
            const masks = step.B * step.L * fused.adapters.reduce((n, a) => n + a.A.shape[1], 0) * 4;
            const keepMasks = save && activations + (l + 1) * masks <= budget;
            x = tf.tidy(() => this.fusedDecoderLayer(l, xin, cos, sin, bias, step, fused, save, keepMasks));
          }
          continue;
        }
        x = tf.tidy(() => {
          if (recompute) return this.checkpointedLayer(l, xin, cos, sin, bias, step, (l + 1) * savedPerLayer <= budget);
          const kv = cache ? { past: cache.layers[l], keep: (k: tf.Tensor4D, v: tf.Tensor4D) => newCache.push({ k: tf.keep(k), v: tf.keep(v) }) } : undefined;
          return this.decoderLayer(l, xin, cos, sin, bias, step, kv);
        });
      }
      return rmsNorm(x, this.weights.norm, c.rmsNormEps);
    });
  }

  /**
   * A decoder layer with LoRA adapters (or none) as one ONNX Runtime op, forward and backward
   * (src/kernels/lora-layer.ts): the same function as decoderLayer, its activations (with `save`) and dropout masks
   * (with `keepMasks`) kept in host memory for the backward (else the backward recomputes the layer, or draws the
   * masks again).
   */
  private fusedDecoderLayer(
    l: number,
    x: tf.Tensor2D,
    cos: tf.Tensor4D,
    sin: tf.Tensor4D,
    bias: tf.Tensor2D,
    s: LayerStep,
    fused: NonNullable<ReturnType<Qwen2Model["fusedLayer"]>>,
    save: boolean,
    keepMasks: boolean,
  ): tf.Tensor2D {
    const rates = new Map(fused.adapters.map((a) => [a.linear, a.dropout]));
    // Masks drawn again for the backward pass use the same seed.
    const seeds = new Map(fused.adapters.map((a) => [a.linear, this.dropoutSeed(s, l, a.linear) ?? Math.floor(Math.random() * 2 ** 32)]));
    return fused.kernel.apply({
      ...this.fusedInputs(l, x, cos, sin, bias, s, fused),
      save,
      keepMasks,
      // The first layer's input is the frozen embeddings' output: nothing upstream wants its gradient.
      inputGrad: l > 0,
      mask: (linear, out) => fillDropoutMultiplier(out, rates.get(linear)!, seeds.get(linear)!),
    });
  }

  /** What the fused kernel reads for layer l, in its order. */
  private fusedInputs(l: number, x: tf.Tensor2D, cos: tf.Tensor4D, sin: tf.Tensor4D, keyBias: tf.Tensor2D, s: LayerStep, fused: NonNullable<ReturnType<Qwen2Model["fusedLayer"]>>) {
    const w = this.weights.layers[l], lin = w.linears;
    return {
      x, B: s.B, L: s.L, cos, sin, keyBias, tile: s.tile, adapters: fused.adapters,
      weights: [lin.q_proj, lin.k_proj, lin.v_proj, w.qBias, w.kBias, w.vBias, lin.o_proj, lin.gate_proj, lin.up_proj, lin.down_proj, w.inputNorm, w.postAttentionNorm],
    };
  }

  /** One decoder layer: x + attn(norm(x)), then + mlp(norm(·)). x is [B·L, hidden]. */
  private decoderLayer(
    l: number,
    x: tf.Tensor2D,
    cos: tf.Tensor4D,
    sin: tf.Tensor4D,
    keyBias: tf.Tensor2D,
    s: LayerStep,
    kv?: { past?: { k: tf.Tensor4D; v: tf.Tensor4D }; keep: (k: tf.Tensor4D, v: tf.Tensor4D) => void },
  ): tf.Tensor2D {
    const c = this.config, w = this.weights.layers[l];
    const H = c.numAttentionHeads, kvH = c.numKeyValueHeads, d = c.headDim;
    const { B, L } = s;
    const lin = (names: LinearName[], t: tf.Tensor2D, b?: tf.Tensor1D[]) => this.linears(l, names, t, s, b);
    const h = rmsNorm(x, w.inputNorm, c.rmsNormEps);
    const heads = (t: tf.Tensor2D, n: number) => t.reshape([B, L, n, d]).transpose([0, 2, 1, 3]) as tf.Tensor4D;
    const [qh, kh, vh] = lin(["q_proj", "k_proj", "v_proj"], h, [w.qBias, w.kBias, w.vBias]);
    const q = applyRope(heads(qh, H), cos, sin);
    let k = applyRope(heads(kh, kvH), cos, sin);
    let v = heads(vh, kvH);
    if (kv) {
      if (kv.past) {
        k = tf.concat([kv.past.k, k], 2);
        v = tf.concat([kv.past.v, v], 2);
      }
      kv.keep(k, v);
    }
    // Grouped-query attention without repeating K/V: query head h uses KV head floor(h / g).
    const ctx = causalAttention(q, k, v, keyBias, s.tile).transpose([0, 2, 1, 3]).reshape([B * L, H * d]) as tf.Tensor2D;
    const x1 = tf.add(x, lin(["o_proj"], ctx)[0]) as tf.Tensor2D;
    const h2 = rmsNorm(x1, w.postAttentionNorm, c.rmsNormEps);
    const [gate, up] = lin(["gate_proj", "up_proj"], h2);
    const act = tf.mul(tf.mul(gate, tf.sigmoid(gate)), up) as tf.Tensor2D;
    return tf.add(x1, lin(["down_proj"], act)[0]) as tf.Tensor2D;
  }

  /**
   * A decoder layer whose activations are not kept for the backward pass: only its input and its frozen
   * products' outputs are saved, and the backward recomputes the rest of the layer (selective gradient
   * checkpointing: the frozen products are a third of a step's FLOPs and a small part of a layer's
   * activations). Gradients flow to x and to the layer's adapter variables. Memory for training then
   * grows with one layer's activations plus every layer's frozen outputs ([tokens, 12672] at the 0.5B shape).
   */
  private checkpointedLayer(l: number, x: tf.Tensor2D, cos: tf.Tensor4D, sin: tf.Tensor4D, bias: tf.Tensor2D, s: LayerStep, saveFrozen: boolean): tf.Tensor2D {
    const vars: tf.Variable[] = [];
    for (const [key, a] of this.adapters) if (key.startsWith(`${l}.`)) vars.push(...a.variables());
    if (this.trainableWeights) vars.push(...(layerTensors(this.weights.layers[l]) as tf.Variable[]));
    const f = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const save = inputs[inputs.length - 1] as tf.GradSaveFunc;
      const xin = inputs[0] as tf.Tensor2D;
      const frozen: FrozenProducts | undefined = saveFrozen ? { outputs: [], replay: false, next: 0 } : undefined;
      const value = this.decoderLayer(l, xin, cos, sin, bias, { ...s, frozen });
      // Kept for the backward pass (and freed with the tape when no gradient is taken); the frozen
      // products in host memory (dataSync copies), restored into the heap for this layer's backward only.
      save([xin, cos, sin, bias]);
      const host = frozen?.outputs.map((t) => ({ data: t.dataSync() as Float32Array, shape: t.shape }));
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, cs, sn, bs] = saved;
          const outputs = host?.map(({ data, shape }) => tf.tensor2d(data, shape));
          if (host) host.length = 0;
          // tf.grads inside a backward pass replaces and then clears the engine's tape: keep the outer one.
          const state = tf.engine().state;
          const outerTape = state.activeTape;
          try {
            return tf.grads((...args: tf.Tensor[]) => this.decoderLayer(l, args[0] as tf.Tensor2D, cs as tf.Tensor4D, sn as tf.Tensor4D, bs as tf.Tensor2D, { ...s, frozen: outputs && { outputs, replay: true, next: 0 } }))([xs, ...vars], dy);
          } finally {
            state.activeTape = outerTape;
            tf.dispose(outputs ?? []);
          }
        },
      };
    });
    return f(x, ...vars) as tf.Tensor2D;
  }

  /** Logits [N, vocab] for hidden states [N, hidden]. */
  logitsFromHidden(h: tf.Tensor2D): tf.Tensor2D {
    // A decode step's few rows read the head prepacked on onnxruntime (built on first use).
    const fast = h.shape[0] <= FEW_ROWS && !this.trainableWeights ? frozenLinearFor(this.weights.lmHeadT) : null;
    if (fast) return fast.apply(h);
    const shards = this.vocabShards(this.weights.lmHeadT);
    return shards ? matMulShards(h, shards) : tf.matMul(h, this.weights.lmHeadT);
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
      const head = this.trainableWeights ? null : this.vocabShards(this.weights.lmHeadT);
      const shards = head ? { head, maxBytes: bindingLimitBytes() } : undefined;
      return chunkedCrossEntropySum(this.hiddenStates(input, opts), this.weights.lmHeadT, rows, targets, opts.lossChunkRows, this.trainableWeights, shards);
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
    for (const { shards } of this.shardCache.values()) tf.dispose(shards);
    this.shardCache.clear();
    tf.dispose(weightTensors(this.weights));
  }
}
