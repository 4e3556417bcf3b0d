import * as tf from "@tensorflow/tfjs";
import { countTargetTokens, type Batch, type TrainableModel } from "./trainable.js";

export interface AccumulatedGradients {
  /** Sum of token NLL over all micro-batches / number of target tokens across them. */
  loss: number;
  /** d loss / d weight, keyed like model.trainableVariables(); the caller disposes them. */
  grads: Map<string, tf.Tensor>;
  numTargetTokens: number;
}

/**
 * Gradients of one optimizer step over k micro-batches. The loss is the SUM of token NLL over every
 * micro-batch divided by the target tokens of the whole accumulated batch (not a mean of per-batch means),
 * so k micro-batches give the same update as one k-times larger batch.
 */
export function accumulateGradients(model: TrainableModel, microBatches: Batch[], opts: { training: boolean; seeds?: number[] }): AccumulatedGradients {
  const vars = model.trainableVariables();
  const names = [...vars.keys()];
  const varList = names.map((n) => vars.get(n)!);
  const numTargetTokens = microBatches.reduce((n, b) => n + countTargetTokens(b), 0);
  if (numTargetTokens === 0) throw new Error("No target tokens in this step's batches (every label is -100)");
  let sum: tf.Tensor[] | undefined;
  let lossSum = 0;
  for (const [i, batch] of microBatches.entries()) {
    const { value, grads } = tf.variableGrads(() => model.sumLoss(batch, { training: opts.training, seed: opts.seeds?.[i] }), varList);
    lossSum += value.dataSync()[0]!;
    value.dispose();
    const g = varList.map((v) => {
      const t = grads[v.name];
      if (!t) throw new Error(`The loss does not depend on trainable variable ${names[varList.indexOf(v)]}`);
      return t;
    });
    if (sum === undefined) {
      sum = g;
    } else {
      const prev: tf.Tensor[] = sum;
      sum = prev.map((s, j) => s.add(g[j]!));
      tf.dispose([...prev, ...g]);
    }
  }
  const scale = 1 / numTargetTokens;
  const grads = new Map(names.map((n, j) => [n, tf.tidy(() => sum![j]!.mul(scale))]));
  tf.dispose(sum!);
  return { loss: lossSum / numTargetTokens, grads, numTargetTokens };
}

/** The global L2 norm over all gradients (torch.nn.utils.clip_grad_norm_'s total_norm). */
export function globalNorm(grads: Map<string, tf.Tensor>): number {
  return tf.tidy(() => tf.addN([...grads.values()].map((g) => g.square().sum())).sqrt().dataSync()[0]!);
}

/**
 * Clips by global norm as torch does: when norm > maxNorm, every gradient is scaled by maxNorm / (norm + 1e-6).
 * Returns the pre-clip norm (what transformers logs as grad_norm). Replaces the tensors in `grads`.
 */
export function clipByGlobalNorm(grads: Map<string, tf.Tensor>, maxNorm: number): number {
  const norm = globalNorm(grads);
  const coef = maxNorm / (norm + 1e-6);
  if (Number.isFinite(norm) && coef < 1) {
    for (const [name, g] of grads) {
      grads.set(name, tf.tidy(() => g.mul(coef)));
      g.dispose();
    }
  }
  return norm;
}
