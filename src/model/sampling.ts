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
  const scaled = Float64Array.from({ length: V }, (_, i) => logits[i] / temperature);
  const byScore = (a: number, b: number) => scaled[b] - scaled[a] || a - b;
  let idx: number[];
  if (opts.topK !== undefined && opts.topK > 0 && opts.topK < V) {
    // Keep every token scoring at least the k-th best (ties included, as TopKLogitsWarper does)
    // without sorting the whole vocabulary.
    const kth = kthLargest(scaled, opts.topK);
    idx = [];
    for (let i = 0; i < V; i++) if (scaled[i] >= kth) idx.push(i);
    idx.sort(byScore);
  } else {
    idx = Array.from({ length: V }, (_, i) => i).sort(byScore);
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

/** The k-th largest value (k >= 1) via a size-k min-heap: O(n log k). */
function kthLargest(values: ArrayLike<number>, k: number): number {
  const heap: number[] = [];
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < heap.length && heap[l] < heap[m]) m = l;
      if (r < heap.length && heap[r] < heap[m]) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (heap.length < k) {
      heap.push(v);
      for (let j = heap.length - 1; j > 0; ) {
        const p = (j - 1) >> 1;
        if (heap[p] <= heap[j]) break;
        [heap[p], heap[j]] = [heap[j], heap[p]];
        j = p;
      }
    } else if (v > heap[0]) {
      heap[0] = v;
      down(0);
    }
  }
  return heap[0];
}
