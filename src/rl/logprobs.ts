/**
 * Per-token log-probabilities of sampled completions, with gradient: log softmax(h_t·W / T)[y_t] for the final
 * hidden state h_t before each completion token y_t, as TRL's `_get_per_token_logps_and_entropies` (logits divided
 * by the sampling temperature, then selective_log_softmax). The [rows, vocab] logits exist one chunk at a time in
 * the forward pass and are recomputed chunk by chunk in the backward pass, so memory stays linear in the rows at
 * the 151,936-token vocabulary too: the surrogate's gradient reaches each log-prob as one scalar per token, and
 * d logp_t / d logits = (onehot(y_t) − softmax) / T needs nothing else kept. The per-token entropies
 * (−Σ p log p, logged as TRL's `entropy`) come from the same forward chunks.
 */
import * as tf from "@tensorflow/tfjs";
import type { Qwen2Model } from "../model/qwen2.js";

export interface TokenLogProbs {
  /** [N] log-probabilities, differentiable w.r.t. the hidden states (and the LM head when it trains). */
  logps: tf.Tensor1D;
  /** [N] entropies of the tempered distributions (no gradient); dispose with logps. */
  entropies: tf.Tensor1D;
}

/** Rows per chunk: ~64 MB of float32 logits. */
function defaultChunkRows(vocab: number): number {
  return Math.max(1, Math.floor(2 ** 24 / vocab));
}

/**
 * `hidden` [B·L, H] are the model's final hidden states; `rows[i]` is the row whose next-token distribution
 * predicts `targets[i]`.
 */
export function tokenLogProbs(model: Qwen2Model, hidden: tf.Tensor2D, rows: number[], targets: number[], temperature: number, chunkRows?: number): TokenLogProbs {
  if (rows.length !== targets.length) throw new Error(`tokenLogProbs: ${rows.length} rows for ${targets.length} targets`);
  if (!(temperature > 0)) throw new Error(`tokenLogProbs: temperature must be > 0, got ${temperature}`);
  const head = model.weights.lmHeadT;
  const V = head.shape[1];
  const trainHead = model.trainableWeights;
  const chunk = chunkRows ?? defaultChunkRows(V);
  const spans: [number, number][] = [];
  for (let s = 0; s < rows.length; s += chunk) spans.push([s, Math.min(rows.length, s + chunk)]);
  const scaledLogits = (x: tf.Tensor2D) => tf.div(model.logitsFromHidden(x), temperature) as tf.Tensor2D;
  let entropies: tf.Tensor1D | undefined;
  const f = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const h = inputs[0] as tf.Tensor2D;
    const save = inputs[inputs.length - 1] as tf.GradSaveFunc;
    save([h]);
    const logpParts: tf.Tensor[] = [], entParts: tf.Tensor[] = [];
    for (const [s, e] of spans) {
      const [lp, ent] = tf.tidy(() => {
        const logits = scaledLogits(tf.gather(h, rows.slice(s, e)) as tf.Tensor2D);
        const lse = tf.logSumExp(logits, 1);
        const picked = tf.gather(tf.reshape(logits, [-1]), targets.slice(s, e).map((t, i) => i * V + t));
        const p = tf.exp(tf.sub(logits, tf.expandDims(lse, 1)));
        return [tf.sub(picked, lse), tf.sub(lse, tf.sum(tf.mul(p, logits), 1))];
      });
      logpParts.push(lp!);
      entParts.push(ent!);
    }
    const value = logpParts.length === 1 ? logpParts[0]! : tf.concat(logpParts);
    entropies = tf.keep(entParts.length === 1 ? entParts[0]! : tf.concat(entParts)) as tf.Tensor1D;
    if (logpParts.length > 1) tf.dispose([...logpParts, ...entParts]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const hAll = saved[0] as tf.Tensor2D;
          const parts: tf.Tensor[] = [];
          let dW: tf.Tensor | undefined;
          for (const [s, e] of spans) {
            const [dxc, dWc] = tf.tidy(() => {
              const xc = tf.gather(hAll, rows.slice(s, e)) as tf.Tensor2D;
              const p = tf.softmax(scaledLogits(xc));
              // (tf.oneHot with dtype float32 gives zeros on the wasm backend: cast the int32 one.)
              const onehot = tf.cast(tf.oneHot(targets.slice(s, e), V), "float32");
              const g = tf.mul(tf.sub(onehot, p), tf.expandDims(tf.div(tf.slice(dy, [s], [e - s]), temperature), 1)) as tf.Tensor2D;
              return [tf.matMul(g, head, false, true), ...(trainHead ? [tf.matMul(xc, g, true, false)] : [])];
            });
            parts.push(dxc!);
            if (dWc) dW = dW ? tf.add(dW, dWc) : dWc;
          }
          // Scatter the rows back into [B·L, H] with a forward gather (a zero row for the others): wasm has no
          // UnsortedSegmentSum for gather's own gradient.
          const selected = tf.concat([...parts, tf.zeros([1, hAll.shape[1]])]);
          const where = new Array<number>(hAll.shape[0]).fill(rows.length);
          rows.forEach((r, i) => (where[r] = i));
          const dh = tf.gather(selected, where);
          return trainHead ? [dh, dW!] : [dh];
        }),
    };
  });
  const logps = (trainHead ? f(hidden, head) : f(hidden)) as tf.Tensor1D;
  return { logps, entropies: entropies! };
}
