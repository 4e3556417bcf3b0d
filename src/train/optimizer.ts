import * as tf from "@tensorflow/tfjs";

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

/** The optimizer's state as plain arrays (for checkpoints). */
export interface AdamWState {
  step: number;
  expAvg: Map<string, Float32Array>;
  expAvgSq: Map<string, Float32Array>;
}

/**
 * AdamW with torch.optim.AdamW's semantics: decoupled weight decay applied to the weights first
 * (p ← p·(1 − lr·wd)), then m ← m + (1−β1)(g − m), v ← β2·v + (1−β2)·g², and
 * p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε).
 */
export class AdamW {
  readonly config: AdamWConfig;
  private stepCount = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  /** `noDecay`: parameters left out of weight decay (transformers' Trainer: biases and norm weights). */
  constructor(
    private readonly params: Map<string, tf.Variable>,
    config: Partial<AdamWConfig> = {},
    private readonly noDecay: ReadonlySet<string> = new Set(),
  ) {
    this.config = { ...ADAMW_DEFAULTS, ...config };
    for (const [name, p] of params) {
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false, undefined, "float32")));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false, undefined, "float32")));
    }
  }

  get step(): number {
    return this.stepCount;
  }

  /** One update with `grads` (same names as the parameters) at learning rate `lr`. */
  apply(grads: Map<string, tf.Tensor>, lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.config;
    this.stepCount++;
    const t = this.stepCount;
    const stepSize = lr / (1 - beta1 ** t);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
    tf.tidy(() => {
      for (const [name, p] of this.params) {
        const g = grads.get(name);
        if (!g) throw new Error(`AdamW: no gradient for ${name}`);
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const mNew = m.add(g.sub(m).mul(1 - beta1));
        const vNew = v.mul(beta2).add(g.square().mul(1 - beta2));
        const decayed = weightDecay === 0 || this.noDecay.has(name) ? p : p.mul(1 - lr * weightDecay);
        const denom = vNew.sqrt().div(bc2Sqrt).add(eps);
        m.assign(mNew);
        v.assign(vNew);
        p.assign(decayed.sub(mNew.div(denom).mul(stepSize)));
      }
    });
  }

  async getState(): Promise<AdamWState> {
    const read = async (vars: Map<string, tf.Variable>) =>
      new Map(await Promise.all([...vars].map(async ([k, x]) => [k, (await x.data()) as Float32Array] as const)));
    return { step: this.stepCount, expAvg: await read(this.m), expAvgSq: await read(this.v) };
  }

  setState(state: AdamWState): void {
    for (const [label, vars, values] of [["exp_avg", this.m, state.expAvg], ["exp_avg_sq", this.v, state.expAvgSq]] as const) {
      for (const [name, x] of vars) {
        const data = values.get(name);
        if (!data || data.length !== x.size) throw new Error(`Optimizer state: ${label} for ${name} is missing or has the wrong size`);
        tf.tidy(() => x.assign(tf.tensor(data, x.shape, "float32")));
      }
    }
    this.stepCount = state.step;
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
  }
}
