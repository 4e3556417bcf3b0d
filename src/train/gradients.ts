import * as tf from "@tensorflow/tfjs";
import { countTargetTokens, type Batch, type TrainableModel } from "../model/trainable.js";

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
 * so k micro-batches give the same update as one k-times larger batch. Each micro-batch's summed loss is
 * divided before the backward pass (one scalar, where dividing every gradient after it took a kernel each). The
 * loss is summed on the backend and read once, at the end (on a GPU, reads are the only waits).
 */
export async function accumulateGradients(
  model: TrainableModel,
  microBatches: Batch[],
  opts: { training: boolean; seeds?: number[] },
): Promise<AccumulatedGradients> {
  const vars = model.trainableVariables();
  const names = [...vars.keys()];
  const varList = names.map((n) => vars.get(n)!);
  const numTargetTokens = microBatches.reduce((n, b) => n + countTargetTokens(b), 0);
  if (numTargetTokens === 0) throw new Error("No target tokens in this step's batches (every label is -100)");
  let sum: tf.Tensor[] | undefined;
  let lossSum: tf.Scalar | undefined;
  const scale = 1 / numTargetTokens;
  for (const [i, batch] of microBatches.entries()) {
    const { value, grads } = tf.variableGrads(() => tf.mul(model.sumLoss(batch, { training: opts.training, seed: opts.seeds?.[i] }), scale) as tf.Scalar, varList);
    if (lossSum === undefined) lossSum = value;
    else {
      const prev = lossSum;
      lossSum = tf.add(prev, value) as tf.Scalar;
      tf.dispose([prev, value]);
    }
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
  const grads = new Map(names.map((n, j) => [n, sum![j]!]));
  return { loss: await readScalar(lossSum!), grads, numTargetTokens };
}

/** A scalar's value; the tensor is disposed. */
export async function readScalar(t: tf.Scalar): Promise<number> {
  try {
    return (await t.data())[0]!;
  } finally {
    t.dispose();
  }
}

/** Gradients smaller than this are concatenated (up to this many elements) before squaring and summing. */
const CONCAT_MAX = 2 ** 22;

/**
 * The global L2 norm over all gradients (torch.nn.utils.clip_grad_norm_'s total_norm), on the backend. Small
 * gradients are summed as concatenated vectors: LoRA's 336 matrices at the 0.5B shape take ~30 kernels instead of
 * 672, each a dispatch paid in JavaScript on a GPU. (stack, not addN, gathers the partial sums: a WebGPU kernel binds
 * at most 8 to 16 inputs, and concat splits by that limit.)
 */
export function globalNorm(grads: Map<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => {
    const sums: tf.Tensor[] = [];
    let batch: tf.Tensor[] = [];
    let size = 0;
    const flush = () => {
      if (batch.length === 0) return;
      const flat = batch.length === 1 ? batch[0]! : tf.concat(batch.map((g) => tf.reshape(g, [-1])));
      sums.push(tf.sum(tf.square(flat)));
      batch = [];
      size = 0;
    };
    for (const g of grads.values()) {
      if (size + g.size > CONCAT_MAX) flush();
      batch.push(g);
      size += g.size;
    }
    flush();
    return tf.sqrt(tf.sum(tf.stack(sums))) as tf.Scalar;
  });
}

/**
 * Clipping by global norm as torch does it: the factor min(1, maxNorm / (norm + 1e-6)) every gradient is to be
 * multiplied by (AdamW.apply takes it and scales its flattened gradients, one kernel per group), and the pre-clip
 * norm (what transformers logs as grad_norm), both as tensors on the backend (the caller reads the norm).
 */
export function clipFactor(grads: Map<string, tf.Tensor>, maxNorm: number): { norm: tf.Scalar; factor: tf.Scalar } {
  const norm = globalNorm(grads);
  const factor = tf.tidy(() => tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1) as tf.Scalar);
  return { norm, factor };
}
