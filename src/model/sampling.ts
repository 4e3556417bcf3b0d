/**
 * Token selection: greedy, or sampling with temperature, min-p, top-k and top-p; the penalties vLLM applies before
 * either (repetition as transformers' RepetitionPenaltyLogitsProcessor, frequency and presence as OpenAI's).
 */

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
  /** Keep tokens whose probability is at least min_p times the most likely one's (after temperature; 0: off). */
  minP?: number;
}

export interface PenaltyOptions {
  /** > 1 discourages tokens already in the prompt or the output (transformers' and vLLM's formula); 1: off. */
  repetitionPenalty?: number;
  /** Subtracted once from the logit of every token the output already has (OpenAI's presence_penalty). */
  presencePenalty?: number;
  /** Subtracted from a token's logit once per time the output already has it (OpenAI's frequency_penalty). */
  frequencyPenalty?: number;
}

/**
 * Applies the penalties to `logits` in place, as vLLM does before greedy or random sampling: the repetition penalty
 * over the tokens of the prompt and the output (a positive logit divided by it, a negative one multiplied), then
 * frequency and presence over the output's token counts.
 */
export function applyPenalties(logits: Float32Array, promptTokens: Iterable<number>, outputCounts: ReadonlyMap<number, number>, o: PenaltyOptions): void {
  const rep = o.repetitionPenalty ?? 1;
  if (rep !== 1) {
    const seen = new Set(promptTokens);
    for (const t of outputCounts.keys()) seen.add(t);
    for (const t of seen) logits[t] = logits[t]! > 0 ? logits[t]! / rep : logits[t]! * rep;
  }
  const freq = o.frequencyPenalty ?? 0, pres = o.presencePenalty ?? 0;
  if (freq !== 0 || pres !== 0) for (const [t, n] of outputCounts) logits[t] -= freq * n + pres;
}

/**
 * Samples one token from logits after temperature, min-p (vLLM's order: tokens below min_p times the top probability
 * dropped), then transformers' TopKLogitsWarper and TopPLogitsWarper (top-p keeps the smallest set whose probability,
 * renormalised over what is left, reaches top_p, at least one). No path sorts the whole 151,936-token vocabulary:
 * top-k and min-p sort their candidates, top-p alone bisects.
 */
export function sampleToken(logits: ArrayLike<number>, opts: SamplingOptions, random: () => number): number {
  const temperature = opts.temperature ?? 1;
  if (!(temperature > 0)) throw new Error(`temperature must be > 0, got ${temperature} (use greedy decoding instead)`);
  const V = logits.length;
  const scaled = Float64Array.from({ length: V }, (_, i) => logits[i] / temperature);
  const byScore = (a: number, b: number) => scaled[b] - scaled[a] || a - b;
  // Tokens scoring at least the k-th best (ties included, as TopKLogitsWarper keeps), best first.
  const topCandidates = (k: number) => {
    const kth = kthLargest(scaled, k);
    const idx: number[] = [];
    for (let i = 0; i < V; i++) if (scaled[i] >= kth) idx.push(i);
    return idx.sort(byScore);
  };
  const topK = opts.topK !== undefined && opts.topK > 0 && opts.topK < V ? opts.topK : undefined;
  const topP = opts.topP !== undefined && opts.topP < 1 ? opts.topP : undefined;
  const minP = opts.minP !== undefined && opts.minP > 0 ? opts.minP : undefined;
  let idx: number[] | undefined = topK !== undefined ? topCandidates(topK) : undefined;
  const max = idx ? scaled[idx[0]] : scaled.reduce((m, v) => Math.max(m, v), -Infinity);
  if (minP !== undefined) {
    // p_i >= min_p · p_max  ⇔  scaled_i >= max + ln(min_p); the top token always stays.
    const floor = max + Math.log(minP);
    if (idx) idx = idx.filter((i) => scaled[i] >= floor);
    else {
      idx = [];
      for (let i = 0; i < V; i++) if (scaled[i] >= floor) idx.push(i);
      idx.sort(byScore);
    }
  }
  // Normaliser over the tokens still allowed: the top-k set, or the whole vocabulary.
  let z = 0;
  if (idx) for (const i of idx) z += Math.exp(scaled[i] - max);
  else for (let i = 0; i < V; i++) z += Math.exp(scaled[i] - max);
  const prob = (i: number) => Math.exp(scaled[i] - max) / z;
  if (topP !== undefined) {
    if (idx) {
      let cum = 0, keep = 0;
      while (keep < idx.length && cum < topP) cum += prob(idx[keep++]);
      idx = idx.slice(0, Math.max(1, keep));
    } else {
      idx = nucleus(scaled, max, z, topP);
    }
  }
  // Draw in proportion to the probabilities, renormalised over what is left.
  const n = idx ? idx.length : V;
  let u = random() * (idx ? idx.reduce((m, i) => m + prob(i), 0) : 1);
  for (let j = 0; j < n; j++) {
    const i = idx ? idx[j] : j;
    u -= prob(i);
    if (u < 0) return i;
  }
  return idx ? idx[n - 1] : argmax(scaled);
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

/**
 * The top-p nucleus without sorting the vocabulary: the tokens at or above the highest probability
 * threshold whose tokens still hold top_p of the mass, found by bisection (in vocabulary order; the order
 * does not change the distribution sampled from).
 */
function nucleus(scaled: Float64Array, max: number, z: number, topP: number): number[] {
  const V = scaled.length;
  const p = new Float64Array(V);
  for (let i = 0; i < V; i++) p[i] = Math.exp(scaled[i] - max) / z;
  const massAbove = (t: number) => {
    let m = 0;
    for (let i = 0; i < V; i++) if (p[i] >= t) m += p[i];
    return m;
  };
  let lo = 0, hi = 1; // massAbove(lo) >= topP > massAbove(hi) (the top token has p <= 1)
  for (let it = 0; it < 40; it++) {
    const mid = (lo + hi) / 2;
    if (massAbove(mid) >= topP) lo = mid;
    else hi = mid;
  }
  const idx: number[] = [];
  for (let i = 0; i < V; i++) if (p[i] >= lo) idx.push(i);
  return idx;
}
