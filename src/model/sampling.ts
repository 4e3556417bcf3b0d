/** Seeded token selection: greedy, or sampling with temperature, top-k and top-p (transformers' order). */

/** mulberry32: a small, fast, seedable PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Index of the largest value (the first one on ties, like torch.argmax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

export interface SamplingOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
}

/**
 * Samples one token from logits after transformers' TemperatureLogitsWarper, TopKLogitsWarper and
 * TopPLogitsWarper (in that order; top-p keeps the smallest set whose probability reaches top_p, at least one).
 */
export function sampleToken(logits: ArrayLike<number>, opts: SamplingOptions, random: () => number): number {
  const temperature = opts.temperature ?? 1;
  if (!(temperature > 0)) throw new Error(`temperature must be > 0, got ${temperature} (use greedy decoding instead)`);
  const V = logits.length;
  let idx = Array.from({ length: V }, (_, i) => i);
  const scaled = Float64Array.from({ length: V }, (_, i) => logits[i] / temperature);
  idx.sort((a, b) => scaled[b] - scaled[a] || a - b);
  if (opts.topK !== undefined && opts.topK > 0 && opts.topK < V) {
    const kth = scaled[idx[opts.topK - 1]];
    idx = idx.filter((i) => scaled[i] >= kth);
  }
  const max = scaled[idx[0]];
  let probs = idx.map((i) => Math.exp(scaled[i] - max));
  let z = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / z);
  if (opts.topP !== undefined && opts.topP < 1) {
    let cum = 0, keep = 0;
    while (keep < probs.length && cum < opts.topP) cum += probs[keep++];
    probs = probs.slice(0, Math.max(1, keep));
    idx = idx.slice(0, probs.length);
    z = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / z);
  }
  let u = random();
  for (let i = 0; i < probs.length; i++) {
    u -= probs[i];
    if (u < 0) return idx[i];
  }
  return idx[probs.length - 1];
}
