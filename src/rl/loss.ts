/**
 * The GRPO objective with TRL's semantics (GRPOTrainer._compute_loss, importance_sampling_level "token"):
 *
 *   ratio_t  = exp(logp_t − old_logp_t)                      (old = logp detached when num_iterations is 1)
 *   loss_t   = −min(ratio_t·A, clip(ratio_t, 1 − ε_low, 1 + ε_high)·A) + β·(exp(ref_t − logp_t) − (ref_t − logp_t) − 1)
 *
 * aggregated by `loss_type` over the B completions of a generation batch (m_i active tokens of completion i):
 *   grpo     (1/B) Σ_i (1/max(1, m_i)) Σ_t loss_it        every completion weighs the same, whatever its length
 *   dr_grpo  Σ_it loss_it / (B · max_completion_length)    a constant normaliser (Dr. GRPO)
 *   dapo     Σ_it loss_it / max(1, Σ_i m_i)                every token weighs the same (DAPO; TRL's default)
 * Written here as one weight per token, so micro-batches of any size add up to the whole batch's loss and
 * gradient (TRL's per-micro-batch formulas with its gradient-accumulation normaliser give the same numbers for
 * micro-batches of equal size).
 */
import * as tf from "@tensorflow/tfjs";

export const LOSS_TYPES = ["grpo", "dr_grpo", "dapo"] as const;
export type LossType = (typeof LOSS_TYPES)[number];

export interface SurrogateConfig {
  /** ε_low: the ratio is clipped at 1 − epsilon below. */
  epsilon: number;
  /** ε_high (DAPO's clip-higher); null: epsilon. */
  epsilonHigh: number | null;
  /** Weight of the KL penalty against the reference model (0: none, and no reference is computed). */
  beta: number;
}

/**
 * The per-token weights of `loss_type` for a generation batch: `active[i]` is the number of tokens of completion i
 * that enter the loss (0 for a masked truncated completion), `maxCompletionLength` TRL's max_completion_length.
 */
export function tokenWeights(active: number[], lossType: LossType, maxCompletionLength: number): number[] {
  const B = active.length;
  if (B === 0) throw new Error("tokenWeights: no completions");
  if (lossType === "grpo") return active.map((m) => 1 / (B * Math.max(1, m)));
  if (lossType === "dr_grpo") return active.map(() => 1 / (B * maxCompletionLength));
  const total = Math.max(1, active.reduce((a, b) => a + b, 0));
  return active.map(() => 1 / total);
}

export interface TokenTerms {
  /** Current log-probs (with gradient). */
  logps: tf.Tensor1D;
  /** Log-probs of the policy that sampled (num_iterations > 1); undefined: logps detached. */
  oldLogps?: tf.Tensor1D;
  /** Reference log-probs (beta > 0). */
  refLogps?: tf.Tensor1D;
  /** The completion's advantage, repeated for each of its tokens. */
  advantages: tf.Tensor1D;
  /** The loss_type weight of each token (0 for masked tokens). */
  weights: tf.Tensor1D;
}

/** x's values without a gradient (torch's .detach()); tfjs has no stop_gradient op. */
export function detach<T extends tf.Tensor>(x: T): T {
  return tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => ({ value: (inputs[0] as tf.Tensor).clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) }))(x) as T;
}

/** Σ_t weight_t · loss_t (a scalar with gradient), and the per-token ratio and KL for the metrics (no gradient). */
export function surrogateLoss(t: TokenTerms, cfg: SurrogateConfig): { loss: tf.Scalar; ratio: tf.Tensor1D; kl?: tf.Tensor1D } {
  const low = 1 - cfg.epsilon, high = 1 + (cfg.epsilonHigh ?? cfg.epsilon);
  if (cfg.beta !== 0 && !t.refLogps) throw new Error("surrogateLoss: beta is not 0 but no reference log-probs were given");
  return tf.tidy(() => {
    const old = t.oldLogps ?? detach(t.logps);
    const ratio = tf.exp(tf.sub(t.logps, old));
    const clipped = tf.clipByValue(ratio, low, high);
    let perToken = tf.neg(tf.minimum(tf.mul(ratio, t.advantages), tf.mul(clipped, t.advantages)));
    let kl: tf.Tensor1D | undefined;
    if (cfg.beta !== 0) {
      const d = tf.sub(t.refLogps!, t.logps);
      kl = tf.sub(tf.sub(tf.exp(d), d), 1) as tf.Tensor1D;
      perToken = tf.add(perToken, tf.mul(kl, cfg.beta));
    }
    const loss = tf.sum(tf.mul(perToken, t.weights)) as tf.Scalar;
    return { loss, ratio: detach(ratio) as tf.Tensor1D, ...(kl ? { kl: detach(kl) as tf.Tensor1D } : {}) };
  });
}

export interface ClipStats {
  /** Tokens whose ratio fell below 1 − ε_low with a negative advantage (the clip binds), over active tokens. */
  lowMean: number;
  highMean: number;
  regionMean: number;
  /** The smallest per-completion share of low-clipped tokens; the largest of high-clipped ones (TRL's low_min, high_max). */
  lowMin: number;
  highMax: number;
}

/**
 * TRL's clip_ratio metrics from plain arrays: ratio, advantage and an active flag per token, `seq[t]` the token's
 * completion.
 */
export function clipStats(ratio: ArrayLike<number>, advantage: ArrayLike<number>, active: ArrayLike<number>, seq: ArrayLike<number>, cfg: Pick<SurrogateConfig, "epsilon" | "epsilonHigh">): ClipStats {
  const low = 1 - cfg.epsilon, high = 1 + (cfg.epsilonHigh ?? cfg.epsilon);
  let n = 0, nLow = 0, nHigh = 0;
  const per = new Map<number, { n: number; low: number; high: number }>();
  for (let t = 0; t < ratio.length; t++) {
    if (!active[t]) continue;
    const isLow = ratio[t]! < low && advantage[t]! < 0;
    const isHigh = ratio[t]! > high && advantage[t]! > 0;
    n++;
    if (isLow) nLow++;
    if (isHigh) nHigh++;
    const s = per.get(seq[t]!) ?? { n: 0, low: 0, high: 0 };
    s.n++;
    if (isLow) s.low++;
    if (isHigh) s.high++;
    per.set(seq[t]!, s);
  }
  const shares = [...per.values()];
  return {
    lowMean: n ? nLow / n : 0,
    highMean: n ? nHigh / n : 0,
    regionMean: n ? (nLow + nHigh) / n : 0,
    lowMin: shares.length ? Math.min(...shares.map((s) => s.low / s.n)) : NaN,
    highMax: shares.length ? Math.max(...shares.map((s) => s.high / s.n)) : NaN,
  };
}
