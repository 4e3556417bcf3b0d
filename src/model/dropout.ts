import * as tf from "@tensorflow/tfjs";
import { filledTensor } from "../kernels/index.js";
import { hashInts } from "../rng.js";

/**
 * Fills `out` with inverted dropout's multiplier: each element is 0 with probability `rate`, else
 * 1/(1 − rate), drawn by xoshiro128** from a state hashed from `seed` — a pure function of (seed, length,
 * rate), so a recomputed layer draws the same mask, and a 128-bit state keeps the masks of different seeds
 * from being shifted copies of one another. tf.dropout draws through seedrandom's Alea into a TensorBuffer
 * and then runs four element-wise kernels (~7 ns an element; 126 M elements a step at the 0.5B shape and
 * 512 tokens). Here: for the small rates LoRA uses (< 0.15) one draw per dropped element, the gaps between
 * them being geometric (~1.3 ns an element at 0.05), else one draw per element (~3.5 ns).
 */
export function fillDropoutMultiplier(out: Float32Array, rate: number, seed: number): Float32Array {
  const size = out.length;
  const keep = 1 / (1 - rate);
  const state = Int32Array.from([0, 1, 2, 3], (k) => hashInts(seed, k));
  const block = new Int32Array(4096);
  if (rate < 0.15) {
    // Gaps between dropped elements: P(gap ≥ j) = (1 − rate)^j for u uniform in (0, 1].
    out.fill(keep);
    const logKeep = Math.log1p(-rate);
    let used = block.length;
    for (let i = -1; ; ) {
      if (used === block.length) (draws(state, block), (used = 0));
      i += 1 + Math.floor(Math.log(((block[used++] >>> 0) + 1) / 2 ** 32) / logKeep);
      if (i >= size) return out;
      out[i] = 0;
    }
  }
  // Drop when the unsigned draw is below rate · 2³² (compared as signed integers: both shifted by 2³¹).
  const threshold = (Math.floor(rate * 2 ** 32) - 2 ** 31) | 0;
  for (let at = 0; at < size; at += block.length) {
    const r = draws(state, size - at < block.length ? block.subarray(0, size - at) : block);
    for (let j = 0; j < r.length; j++) out[at + j] = keep * +((r[j] ^ 0x80000000) >= threshold); // branch-free
  }
  return out;
}

/** Fills `into` with the next 32-bit draws of xoshiro128** and advances `state` (4 words). */
function draws(state: Int32Array, into: Int32Array): Int32Array {
  let s0 = state[0], s1 = state[1], s2 = state[2], s3 = state[3];
  for (let i = 0; i < into.length; i++) {
    const m = Math.imul(s1, 5);
    into[i] = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
  }
  state.set([s0, s1, s2, s3]);
  return into;
}

/**
 * x · mask with mask = fillDropoutMultiplier(x.size values, rate, seed) (peft's nn.Dropout in training), differentiable
 * in x: dL/dx = dy · mask. Without a seed the mask is drawn from a random one.
 */
export function dropout<T extends tf.Tensor>(x: T, rate: number, seed = Math.floor(Math.random() * 2 ** 32)): T {
  const mask = filledTensor(x.shape, (out) => fillDropoutMultiplier(out, rate, seed));
  const f = tf.customGrad((...inputs: Array<tf.Tensor | tf.GradSaveFunc>) => {
    (inputs[1] as tf.GradSaveFunc)([mask]);
    return { value: tf.mul(inputs[0] as tf.Tensor, mask), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]) };
  });
  try {
    return f(x) as T;
  } finally {
    mask.dispose(); // the tape keeps what it saved
  }
}
