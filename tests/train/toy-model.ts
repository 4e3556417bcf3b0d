import * as tf from "@tensorflow/tfjs";
import type { Batch, TrainableModel } from "../../src/train/index.js";

let instances = 0;

/**
 * A bigram language model (one-hot → embedding → optional dropout → softmax over the vocabulary) with
 * the TrainableModel seam's loss semantics: summed NLL under HF's shift, -100 labels ignored.
 */
export function createToyModel(opts: { vocab: number; dim: number; seed: number; dropout?: number }): TrainableModel & { dispose(): void } {
  const { vocab, dim, seed, dropout = 0 } = opts;
  const id = instances++;
  const vars = new Map<string, tf.Variable>([
    ["toy.embed.weight", tf.tidy(() => tf.variable(tf.randomNormal([vocab, dim], 0, 0.5, "float32", seed), true, `toy${id}.embed`))],
    ["toy.head.weight", tf.tidy(() => tf.variable(tf.randomNormal([dim, vocab], 0, 0.5, "float32", seed + 1), true, `toy${id}.head`))],
  ]);
  return {
    trainableVariables: () => vars,
    sumLoss: (batch: Batch, { training, seed: dropoutSeed }) =>
      tf.tidy(() => {
        const B = batch.inputIds.length;
        const T = batch.inputIds[0]!.length;
        const ids = tf.tensor1d(batch.inputIds.flat(), "int32");
        let h = tf.oneHot(ids, vocab).toFloat().matMul(vars.get("toy.embed.weight")!);
        if (training && dropout > 0) h = tf.dropout(h, dropout, undefined, dropoutSeed);
        const logits = h.matMul(vars.get("toy.head.weight")!).reshape([B, T, vocab]);
        const shifted = logits.slice([0, 0, 0], [B, T - 1, vocab]);
        const labels = batch.labels.map((r) => r.slice(1));
        const mask = tf.tensor2d(labels.map((r) => r.map((l) => (l === -100 ? 0 : 1))), [B, T - 1], "float32");
        const target = tf.oneHot(tf.tensor2d(labels.map((r) => r.map((l) => (l === -100 ? 0 : l))), [B, T - 1], "int32"), vocab).toFloat();
        const nll = tf.logSoftmax(shifted).mul(target).sum(-1).neg();
        return nll.mul(mask).sum() as tf.Scalar;
      }),
    dispose: () => vars.forEach((v) => v.dispose()),
  };
}

/** Deterministic toy sequences: a prompt of `promptLength` ids (label -100) then a patterned completion. */
export function toyExamples(n: number, vocab: number, seed: number) {
  return Array.from({ length: n }, (_, i) => {
    const len = 6 + ((i * 7 + seed) % 9);
    const promptLength = 2 + (i % 3);
    // every token has one successor (a bigram model can fit it exactly); the pad id (vocab − 1) never occurs
    const inputIds = [(i * 3 + seed) % (vocab - 1)];
    while (inputIds.length < len) inputIds.push((inputIds.at(-1)! * 5 + 3) % (vocab - 1));
    return { id: `ex${i}`, inputIds, labels: inputIds.map((x, t) => (t < promptLength ? -100 : x)), promptLength, truncated: false };
  });
}
