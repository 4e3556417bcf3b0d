import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { readJsonFile } from "../files/read.js";
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import type { Batch, TrainableModel } from "./trainable.js";
import { dropout } from "./dropout.js";
import { matMulT } from "./ops.js";
import type { LinearAdapter, Qwen2Model } from "./qwen2.js";
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from "./safetensors.js";
import { writeJsonAtomic } from "../files/atomic.js";
import { seededRandom } from "../rng.js";
import { LINEAR_NAMES, linearModule, type LinearName } from "./weights.js";
import { countParameters } from "./params.js";
import { flag, integer, listOf, parseSettings, real, seedSetting } from "../settings.js";

/** Every LoRA setting: its type, range, default and help (the pipeline's `lora` section and `openr1 train --lora-*`). */
export const loraSettings = z.strictObject({
  r: integer({ min: 1 }).default(16).describe("LoRA rank: A is [r, in], B is [out, r]"),
  alpha: real({ gt: 0 }).default(32).describe("LoRA alpha: the update B·A is scaled by alpha / r (alpha / √r with useRslora)"),
  dropout: real({ min: 0, lt: 1 }).default(0.05).describe("dropout on the adapters' input while training (peft's lora_dropout)"),
  targetModules: listOf(LINEAR_NAMES).default(() => [...LINEAR_NAMES]).describe("the linears of every layer that get adapters"),
  useRslora: flag().default(false).describe("rsLoRA: scale by alpha / √r instead of alpha / r (peft's use_rslora)"),
});

export type LoraConfig = z.output<typeof loraSettings>;

export const DEFAULT_LORA_CONFIG: LoraConfig = loraSettings.parse({});

/** Fills in defaults and checks a LoRA config; `source` names it in errors. Unknown keys are refused. */
export function resolveLoraConfig(partial: z.input<typeof loraSettings> = {}, source = "LoRA config"): LoraConfig {
  return parseSettings(loraSettings, partial, source);
}

/** peft's LoRA scaling: alpha / r (alpha / sqrt(r) with rsLoRA). */
export function loraScaling(c: LoraConfig): number {
  return c.useRslora ? c.alpha / Math.sqrt(c.r) : c.alpha / c.r;
}

/** The PEFT tensor name of an adapter matrix, as in adapter_model.safetensors. */
export function peftTensorName(layer: number, linear: LinearName, which: "A" | "B"): string {
  return `base_model.model.model.layers.${layer}.${linearModule(linear)}.${linear}.lora_${which}.weight`;
}

let nextVariableId = 0;

/** y += scaling · B(A(dropout(x))) with A [r, in] and B [out, r] as in peft's lora.Linear. */
class LoraLinear implements LinearAdapter {
  constructor(
    readonly A: tf.Variable,
    readonly B: tf.Variable,
    private readonly scaling: number,
    private readonly dropout: number,
  ) {}

  variables(): tf.Variable[] {
    return [this.A, this.B];
  }

  lowRank(): { A: tf.Tensor2D; B: tf.Tensor2D; scaling: number; dropout: number } {
    return { A: this.A as tf.Tensor2D, B: this.B as tf.Tensor2D, scaling: this.scaling, dropout: this.dropout };
  }

  apply(x: tf.Tensor2D, training: boolean, seed?: number): tf.Tensor2D {
    return tf.tidy(() => {
      const xin = training && this.dropout > 0 ? dropout(x, this.dropout, seed) : x;
      const xa = matMulT(xin, this.A as tf.Tensor2D);
      return matMulT(xa, this.B as tf.Tensor2D).mul(this.scaling) as tf.Tensor2D;
    });
  }
}

export interface TrainableParameterReport {
  trainable: number;
  total: number;
  percent: number;
  /** peft's print_trainable_parameters line. */
  text: string;
}

/**
 * A Qwen2 model with LoRA adapters on its linears (peft semantics): the base stays frozen, only the
 * A/B matrices are trainable. Attaching adapters registers them on the base model, so its forward,
 * loss and generate() all include them.
 */
export class LoraModel implements TrainableModel {
  private readonly layers = new Map<string, LoraLinear>();
  private seedCounter = 0;

  private constructor(readonly base: Qwen2Model, readonly config: LoraConfig) {}

  private attach(layer: number, linear: LinearName, a: tf.Tensor2D, b: tf.Tensor2D): void {
    // tfjs variable names are global: suffix them so several adapter sets can coexist.
    const id = nextVariableId++;
    const A = tf.variable(a, true, `${peftTensorName(layer, linear, "A")}#${id}`);
    const B = tf.variable(b, true, `${peftTensorName(layer, linear, "B")}#${id}`);
    const l = new LoraLinear(A, B, loraScaling(this.config), this.config.dropout);
    this.layers.set(`${layer}.${linear}`, l);
    this.base.adapters.set(`${layer}.${linear}`, l);
  }

  private dims(linear: LinearName): { inF: number; outF: number } {
    const [inF, outF] = this.base.weights.layers[0].linears[linear].shape;
    return { inF, outF };
  }

  /**
   * New adapters with peft's initialisation: A Kaiming-uniform (a = √5, i.e. U(±1/√in)), B zero; `seed` (the run's
   * seed setting, default 42) draws A.
   */
  static create(base: Qwen2Model, config: z.input<typeof loraSettings> = {}, seed: number = seedSetting.parse(undefined)): LoraModel {
    const resolved = resolveLoraConfig(config);
    const s = parseSettings(seedSetting, seed, "LoraModel.create", ["seed"]);
    if (base.adapters.size) throw new Error("LoraModel.create: the base model already has adapters attached");
    const m = new LoraModel(base, resolved);
    const random = seededRandom(s);
    for (let l = 0; l < base.config.numHiddenLayers; l++) {
      for (const name of m.config.targetModules) {
        const { inF, outF } = m.dims(name);
        const bound = 1 / Math.sqrt(inF);
        const values = Float32Array.from({ length: m.config.r * inF }, () => (2 * random() - 1) * bound);
        const [a, b] = [tf.tensor2d(values, [m.config.r, inF]), tf.zeros([outF, m.config.r]) as tf.Tensor2D];
        m.attach(l, name, a, b);
        // The variables share their data until the first update replaces it: kept, these would hold it on.
        tf.dispose([a, b]);
      }
    }
    return m;
  }

  /** Loads a peft adapter directory (adapter_config.json + adapter_model.safetensors). */
  static async load(base: Qwen2Model, dir: string): Promise<LoraModel> {
    if (base.adapters.size) throw new Error("LoraModel.load: the base model already has adapters attached");
    const cfgPath = join(dir, "adapter_config.json");
    const raw = readJsonFile<Record<string, unknown>>(cfgPath, "a peft adapter folder's config");
    const config = loraConfigFromPeft(raw, cfgPath);
    const m = new LoraModel(base, config);
    const file = await SafetensorsFile.open(join(dir, "adapter_model.safetensors"));
    try {
      const expected = new Set<string>();
      for (let l = 0; l < base.config.numHiddenLayers; l++) {
        for (const name of config.targetModules) {
          const { inF, outF } = m.dims(name);
          const read = async (which: "A" | "B", shape: [number, number]) => {
            const key = peftTensorName(l, name, which);
            expected.add(key);
            const info = file.tensors.get(key);
            if (!info) throw new Error(`${file.path}: missing "${key}"`);
            if (info.shape.join(",") !== shape.join(",")) throw new Error(`${file.path}: "${key}" has shape [${info.shape}], expected [${shape}]`);
            return tf.tensor2d(await file.readF32(key), shape);
          };
          const a = await read("A", [config.r, inF]);
          const b = await read("B", [outF, config.r]);
          m.attach(l, name, a, b);
          tf.dispose([a, b]);
        }
      }
      const extra = [...file.tensors.keys()].filter((k) => !expected.has(k));
      if (extra.length) throw new Error(`${file.path}: unexpected tensors ${extra.slice(0, 3).join(", ")}${extra.length > 3 ? ", …" : ""}`);
    } catch (e) {
      m.dispose();
      throw e;
    } finally {
      await file.close();
    }
    return m;
  }

  trainableVariables(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [key, l] of this.layers) {
      const [layer, linear] = key.split(".");
      out.set(peftTensorName(Number(layer), linear as LinearName, "A"), l.A);
      out.set(peftTensorName(Number(layer), linear as LinearName, "B"), l.B);
    }
    return out;
  }

  sumLoss(batch: Batch, opts: { training: boolean; seed?: number }): tf.Scalar {
    const dropoutSeed = opts.seed ?? this.seedCounter++;
    return this.base.sumLoss(batch, { training: opts.training, dropoutSeed }).sum;
  }

  /** Counts like peft's print_trainable_parameters (a tied head is counted once). */
  trainableParameters(): TrainableParameterReport {
    let trainable = 0;
    for (const v of this.trainableVariables().values()) trainable += v.size;
    const total = countParameters(this.base.config).total + trainable;
    const percent = (100 * trainable) / total;
    const fmt = (n: number) => n.toLocaleString("en-US");
    return { trainable, total, percent, text: `trainable params: ${fmt(trainable)} || all params: ${fmt(total)} || trainable%: ${percent.toFixed(4)}` };
  }

  /** Writes the adapter in peft's format: adapter_config.json and adapter_model.safetensors (F32). */
  /** `baseModelNameOrPath` and `revision` are what peft loads the base model from (see baseModelReference). */
  async save(dir: string, opts: { baseModelNameOrPath?: string; revision?: string | null } = {}): Promise<void> {
    await mkdir(dir, { recursive: true });
    const tensors = new Map<string, TensorToWrite>();
    for (const [name, v] of this.trainableVariables()) tensors.set(name, { shape: v.shape, data: (await v.data()) as Float32Array });
    await writeSafetensors(join(dir, "adapter_model.safetensors"), tensors, { dtype: "F32", metadata: { format: "pt" } });
    writeJsonAtomic(join(dir, "adapter_config.json"), peftAdapterConfig(this.config, opts.baseModelNameOrPath ?? null, opts.revision ?? null));
  }

  /** scaling · B·A for one adapted linear, as [in, out] (the transposed layout the base weights use). */
  deltaT(layer: number, linear: LinearName): tf.Tensor2D | undefined {
    const l = this.layers.get(`${layer}.${linear}`);
    if (!l) return undefined;
    return tf.tidy(() => tf.matMul((l.A as tf.Tensor2D).transpose(), (l.B as tf.Tensor2D).transpose()).mul(loraScaling(this.config)) as tf.Tensor2D);
  }

  /** Merges W += scaling·B·A into the base weights and removes the adapters (peft's merge_and_unload). */
  mergeAndUnload(): Qwen2Model {
    for (let l = 0; l < this.base.config.numHiddenLayers; l++) {
      for (const name of this.config.targetModules) {
        const delta = this.deltaT(l, name)!;
        const w = this.base.weights.layers[l].linears;
        const merged = tf.add(w[name], delta) as tf.Tensor2D;
        tf.dispose([w[name], delta]);
        w[name] = merged;
      }
    }
    this.dispose();
    return this.base;
  }

  /** Detaches the adapters from the base model and frees them. */
  dispose(): void {
    for (const [key, l] of this.layers) {
      this.base.adapters.delete(key);
      tf.dispose([l.A, l.B]);
    }
    this.layers.clear();
  }
}

/** Reads peft's adapter_config.json keys into a LoraConfig, refusing what this implementation lacks. */
export function loraConfigFromPeft(raw: Record<string, unknown>, source: string): LoraConfig {
  if (raw.peft_type !== "LORA") throw new Error(`${source}: peft_type is ${JSON.stringify(raw.peft_type)}, expected "LORA"`);
  if (raw.use_dora) throw new Error(`${source}: DoRA adapters are not supported`);
  if (raw.bias !== undefined && raw.bias !== "none") throw new Error(`${source}: bias "${String(raw.bias)}" is not supported (only "none")`);
  if (raw.fan_in_fan_out) throw new Error(`${source}: fan_in_fan_out adapters are not supported`);
  for (const k of ["rank_pattern", "alpha_pattern"]) {
    const v = raw[k];
    if (v && typeof v === "object" && Object.keys(v).length) throw new Error(`${source}: ${k} is not supported`);
  }
  if (raw.layers_to_transform != null) throw new Error(`${source}: layers_to_transform is not supported`);
  const tm = raw.target_modules;
  if (!Array.isArray(tm)) throw new Error(`${source}: target_modules must be a list of module names (regex strings are not supported)`);
  const unknown = tm.filter((m) => !LINEAR_NAMES.includes(m as LinearName));
  if (unknown.length) throw new Error(`${source}: target module(s) ${unknown.join(", ")} not supported (Qwen2 linears: ${LINEAR_NAMES.join(", ")})`);
  if (Array.isArray(raw.modules_to_save) && raw.modules_to_save.length) throw new Error(`${source}: modules_to_save (${raw.modules_to_save.join(", ")}) is not supported`);
  return resolveLoraConfig(
    {
      r: raw.r as number,
      alpha: raw.lora_alpha as number,
      dropout: (raw.lora_dropout as number) ?? 0,
      targetModules: LINEAR_NAMES.filter((n) => tm.includes(n)),
      useRslora: Boolean(raw.use_rslora),
    },
    source,
  );
}

/** adapter_config.json with exactly the keys peft 0.12 writes for a causal-LM LoRA adapter. */
export function peftAdapterConfig(c: LoraConfig, baseModelNameOrPath: string | null, revision: string | null = null): Record<string, unknown> {
  return {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModelNameOrPath,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layer_replication: null,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: c.alpha,
    lora_dropout: c.dropout,
    megatron_config: null,
    megatron_core: "megatron.core",
    modules_to_save: null,
    peft_type: "LORA",
    r: c.r,
    rank_pattern: {},
    revision,
    target_modules: [...c.targetModules],
    task_type: "CAUSAL_LM",
    use_dora: false,
    use_rslora: Boolean(c.useRslora),
  };
}
