import type * as tf from "@tensorflow/tfjs";

/** A padded batch of token ids. labels are -100 where no loss is taken (prompt, padding). */
export interface Batch {
  inputIds: number[][];
  attentionMask: number[][];
  labels: number[][];
}

/** What the trainer needs from a model with adapters: the seam between src/model and src/train. */
export interface TrainableModel {
  /** The trainable weights: LoRA A/B keyed by their PEFT tensor names, or every weight by its HF name. */
  trainableVariables(): Map<string, tf.Variable>;
  /**
   * Sum (not mean) of the next-token negative log-likelihood over positions whose shifted label is not
   * -100 (Hugging Face's shift: logits[t] predict labels[t+1]). The trainer divides by the number of
   * target tokens across the whole accumulated batch. `training` turns LoRA dropout on; `seed`, when given,
   * seeds its masks (the trainer derives one per micro-batch from its seed and step, so a resumed run draws
   * the same masks as an uninterrupted one).
   */
  sumLoss(batch: Batch, opts: { training: boolean; seed?: number }): tf.Scalar;
  /** Parameters left out of weight decay (full-parameter training: biases and norm weights). */
  noWeightDecay?(): Set<string>;
}

/** Number of target tokens in a batch under Hugging Face's shift (labels[:, 1:] != -100). */
export function countTargetTokens(batch: Batch): number {
  let n = 0;
  for (const row of batch.labels) for (let t = 1; t < row.length; t++) if (row[t] !== -100) n++;
  return n;
}
