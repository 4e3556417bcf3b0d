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

/** Parameters smaller than this share one update (see Group); larger ones are updated on their own. */
export const GROUP_MEMBER_MAX = 2 ** 20;
/** Elements per group at most (a group's update concatenates its members: 16 MiB of float32). */
export const GROUP_MAX = 2 ** 22;

/**
 * Parameters updated together as one flat vector: their gradients and values are concatenated, the AdamW
 * arithmetic runs once over the whole vector (element for element the same operations, so the same numbers),
 * and the result is split back. For LoRA's 168 small matrices at the 0.5B shape this is ~200 kernels a step
 * instead of ~2,200 — on a GPU each is a dispatch paid for in JavaScript. The moments live flat.
 */
interface Group {
  names: string[];
  sizes: number[];
  decay: boolean;
  m: tf.Variable;
  v: tf.Variable;
}

/**
 * AdamW with torch.optim.AdamW's semantics: decoupled weight decay applied to the weights first
 * (p ← p·(1 − lr·wd)), then m ← m + (1−β1)(g − m), v ← β2·v + (1−β2)·g², and
 * p ← p − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + ε).
 */
export class AdamW {
  readonly config: AdamWConfig;
  private stepCount = 0;
  private readonly groups: Group[] = [];

  /** `noDecay`: parameters left out of weight decay (transformers' Trainer: biases and norm weights). */
  constructor(
    private readonly params: Map<string, tf.Variable>,
    config: Partial<AdamWConfig> = {},
    noDecay: ReadonlySet<string> = new Set(),
  ) {
    this.config = { ...ADAMW_DEFAULTS, ...config };
    const open = new Map<boolean, Omit<Group, "m" | "v">>();
    const close = (g: Omit<Group, "m" | "v">) => {
      const n = g.sizes.reduce((a, b) => a + b, 0);
      const zeros = () => tf.tidy(() => tf.variable(tf.zeros([n]), false));
      this.groups.push({ ...g, m: zeros(), v: zeros() });
    };
    for (const [name, p] of params) {
      const decay = !noDecay.has(name);
      if (p.size > GROUP_MEMBER_MAX) {
        close({ names: [name], sizes: [p.size], decay });
        continue;
      }
      let g = open.get(decay);
      if (g && g.sizes.reduce((a, b) => a + b, 0) + p.size > GROUP_MAX) {
        close(g);
        g = undefined;
      }
      if (!g) open.set(decay, (g = { names: [], sizes: [], decay }));
      g.names.push(name);
      g.sizes.push(p.size);
    }
    for (const g of open.values()) close(g);
  }

  get step(): number {
    return this.stepCount;
  }

  /**
   * One update with `grads` (same names as the parameters) at learning rate `lr`; `gradScale`, when given, multiplies
   * every gradient first (the clipping factor).
   */
  apply(grads: Map<string, tf.Tensor>, lr: number, gradScale?: tf.Scalar): void {
    const { beta1, beta2, eps, weightDecay } = this.config;
    this.stepCount++;
    const t = this.stepCount;
    const stepSize = lr / (1 - beta1 ** t);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
    for (const group of this.groups) {
      tf.tidy(() => {
        const flat = (ts: tf.Tensor[]) => (ts.length === 1 ? tf.reshape(ts[0]!, [-1]) : tf.concat(ts.map((x) => tf.reshape(x, [-1]))));
        const unscaled = flat(group.names.map((name) => {
          const x = grads.get(name);
          if (!x) throw new Error(`AdamW: no gradient for ${name}`);
          return x;
        }));
        const g = gradScale ? tf.mul(unscaled, gradScale) : unscaled;
        const p = flat(group.names.map((name) => this.params.get(name)!));
        const { m, v } = group;
        const mNew = m.add(g.sub(m).mul(1 - beta1));
        const vNew = v.mul(beta2).add(g.square().mul(1 - beta2));
        const decayed = weightDecay === 0 || !group.decay ? p : p.mul(1 - lr * weightDecay);
        const denom = vNew.sqrt().div(bc2Sqrt).add(eps);
        const pNew = decayed.sub(mNew.div(denom).mul(stepSize));
        m.assign(mNew);
        v.assign(vNew);
        const parts = group.names.length === 1 ? [pNew] : tf.split(pNew, group.sizes);
        group.names.forEach((name, i) => {
          const param = this.params.get(name)!;
          param.assign(tf.reshape(parts[i]!, param.shape));
        });
      });
    }
  }

  async getState(): Promise<AdamWState> {
    const expAvg = new Map<string, Float32Array>(), expAvgSq = new Map<string, Float32Array>();
    for (const group of this.groups) {
      for (const [flat, into] of [[group.m, expAvg], [group.v, expAvgSq]] as const) {
        const data = (await flat.data()) as Float32Array;
        let at = 0;
        group.names.forEach((name, i) => {
          into.set(name, data.slice(at, at + group.sizes[i]!));
          at += group.sizes[i]!;
        });
      }
    }
    const order = (m: Map<string, Float32Array>) => new Map([...this.params.keys()].map((k) => [k, m.get(k)!]));
    return { step: this.stepCount, expAvg: order(expAvg), expAvgSq: order(expAvgSq) };
  }

  setState(state: AdamWState): void {
    for (const group of this.groups) {
      for (const [label, flat, values] of [["exp_avg", group.m, state.expAvg], ["exp_avg_sq", group.v, state.expAvgSq]] as const) {
        const data = new Float32Array(flat.size);
        let at = 0;
        group.names.forEach((name, i) => {
          const part = values.get(name);
          if (!part || part.length !== group.sizes[i]) throw new Error(`Optimizer state: ${label} for ${name} is missing or has the wrong size`);
          data.set(part, at);
          at += part.length;
        });
        tf.tidy(() => flat.assign(tf.tensor1d(data)));
      }
    }
    this.stepCount = state.step;
  }

  dispose(): void {
    for (const g of this.groups) tf.dispose([g.m, g.v]);
  }
}
