import { randomInt } from "node:crypto";
import * as tf from "@tensorflow/tfjs";
import { KVCache, type Qwen2Model } from "./qwen2.js";
import { seededRandom } from "../rng.js";
import { applyPenalties, argmax, sampleToken, type PenaltyOptions, type SamplingOptions } from "./sampling.js";

/**
 * Prompt tokens per forward call while prefilling: a chunk's attention scores are [heads, chunk, length], so a long
 * prompt's peak memory grows with chunk × length instead of length², and a server can run other requests' decode
 * steps between its chunks. Prompts up to this long are one call, as before.
 */
export const DEFAULT_PREFILL_CHUNK = 512;

/** One row's sampling, as vLLM's SamplingParams define it; each row draws from its own random generator. */
export interface RowSampling extends SamplingOptions, PenaltyOptions {
  /** 0 or absent: greedy (below 1e-5 counts as 0, as in vLLM). */
  temperature?: number;
  /** Seed of the row's own generator: the same tokens whatever shares the batch. Absent: fresh entropy. */
  seed?: number;
  /** The row's budget (at most the call's maxNewTokens). */
  maxNewTokens?: number;
  /** The row stops when its new text contains one of these (counted from the text after minTokens tokens). */
  stopStrings?: string[];
  /** EOS ids are masked out until the row has this many new tokens, and nothing but the budget ends it before. */
  minTokens?: number;
  /** EOS ids do not end the row (it goes on to its budget or a stop string). */
  ignoreEos?: boolean;
}

export interface GenerateOptions {
  maxNewTokens: number;
  /** Rows stop when they produce one of these (default: the config's eos_token_id). Empty: never. */
  eosTokenIds?: number[];
  /** Written after a row has finished, and used for left padding (default: the first EOS id, else 0). */
  padTokenId?: number;
  /** Sample instead of greedy decoding (with `temperature`, `topK`, `topP`, `seed` for every row). */
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Seed of the batch's one sampling RNG (default 0), drawn row after row: the same seed gives the same tokens. */
  seed?: number;
  /** Per-row budgets (at most maxNewTokens): a row that reaches its own finishes with "length". */
  rowMaxNewTokens?: number[];
  /** Rows stop when their decoded new text contains one of these; needs `decode`. */
  stopStrings?: string[];
  decode?: (ids: number[]) => string;
  /**
   * Per-row sampling, one entry per prompt, in place of doSample / temperature / topK / topP / seed / stopStrings:
   * rows with different settings share the batch, and each row samples from its own generator.
   */
  rows?: RowSampling[];
  /** Prompt tokens per forward call while prefilling (default DEFAULT_PREFILL_CHUNK; Infinity: the whole prompt at once). */
  prefillChunk?: number;
  /** Called for every new token of a running row, as it is produced. */
  onToken?: (event: { row: number; token: number; step: number }) => void;
  /** Called with each step's next-token logits [B][vocab] (before penalties and sampling), e.g. for log-probs. */
  onLogits?: (step: number, logits: Float32Array[]) => void;
}

export type FinishReason = "eos" | "stop" | "length";

export interface GenerateResult {
  /** Prompt (left-padded) plus generated tokens, padded with padTokenId after a row finishes. */
  sequences: number[][];
  /** Each row's new tokens up to and including its EOS token. */
  newTokens: number[][];
  finishReasons: FinishReason[];
}

/** Left-pads token-id rows to a batch, as Hugging Face tokenizers do with padding_side="left". */
export function leftPad(prompts: number[][], padTokenId: number): { inputIds: number[][]; attentionMask: number[][] } {
  const L = Math.max(...prompts.map((p) => p.length));
  return {
    inputIds: prompts.map((p) => [...new Array<number>(L - p.length).fill(padTokenId), ...p]),
    attentionMask: prompts.map((p) => [...new Array<number>(L - p.length).fill(0), ...new Array<number>(p.length).fill(1)]),
  };
}

/** A fresh generator for an unseeded row: 32 bits from the OS's entropy. */
export function freshRandom(): () => number {
  return seededRandom(randomInt(2 ** 32));
}

/**
 * Where the first stop string begins in `text`, counting only occurrences that end after character `from` (the text
 * of the first min_tokens tokens, as vLLM's detokenizer skips it); -1 when none does.
 */
export function stopIndex(text: string, stops: readonly string[], from = 0): number {
  let at = -1;
  for (const s of stops) {
    const i = text.indexOf(s, Math.max(0, from - s.length + 1));
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  return at;
}

/** What a Sequence needs beyond its RowSampling: the budget, the ids that end it, and the decoder for stop strings. */
export interface SequenceSettings extends RowSampling {
  maxNewTokens: number;
  eosTokenIds: number[];
  /** Greedy (argmax) rather than sampled; default: temperature below 1e-5. */
  greedy?: boolean;
  decode?: (ids: number[]) => string;
}

/**
 * One generated row: its settings, random generator, new tokens and why it finished. Picks each next token the way
 * vLLM's sampler does: EOS masked until min_tokens, the penalties, then argmax, or temperature, min-p, top-k, top-p.
 */
export class Sequence {
  readonly newTokens: number[] = [];
  finishReason: FinishReason | null = null;
  /** Characters the first minTokens new tokens decode to: a stop string counts only where it ends after them. */
  stopFrom = 0;
  private readonly counts = new Map<number, number>();
  private readonly stopWindow: number;
  private readonly greedy: boolean;

  constructor(
    readonly promptIds: readonly number[],
    readonly settings: SequenceSettings,
    private readonly random: () => number,
  ) {
    const stops = settings.stopStrings ?? [];
    if (stops.length && !settings.decode) throw new Error("generate: stopStrings need a decode function");
    // A byte-level BPE token holds at least a quarter of a character (UTF-8 is at most 4 bytes per char), so this
    // many trailing tokens cover any stop string, with a margin.
    this.stopWindow = stops.length ? 4 * Math.max(...stops.map((s) => s.length)) + 8 : 0;
    this.greedy = settings.greedy ?? !((settings.temperature ?? 0) >= 1e-5);
    if (settings.maxNewTokens < 1) this.finishReason = "length";
  }

  /** The next token from this row's next-token logits (not modified). */
  choose(logits: Float32Array): number {
    const s = this.settings;
    const masking = this.newTokens.length < (s.minTokens ?? 0) && s.eosTokenIds.length > 0;
    const penalised = (s.repetitionPenalty ?? 1) !== 1 || (s.frequencyPenalty ?? 0) !== 0 || (s.presencePenalty ?? 0) !== 0;
    let row = logits;
    if (masking || penalised) {
      row = Float32Array.from(logits);
      if (masking) for (const id of s.eosTokenIds) row[id] = -Infinity;
      if (penalised) applyPenalties(row, this.promptIds, this.counts, s);
    }
    return this.greedy ? argmax(row) : sampleToken(row, s, this.random);
  }

  /** Appends a token and decides whether the row has finished. */
  accept(token: number): void {
    const s = this.settings;
    this.newTokens.push(token);
    this.counts.set(token, (this.counts.get(token) ?? 0) + 1);
    const n = this.newTokens.length, min = s.minTokens ?? 0;
    const stops = s.stopStrings ?? [];
    if (n === min && stops.length) this.stopFrom = s.decode!(this.newTokens).length;
    if (n >= s.maxNewTokens) this.finishReason = "length";
    if (n < min) return;
    if (!s.ignoreEos && s.eosTokenIds.includes(token)) this.finishReason = "eos";
    else if (stops.length && n > min) {
      // A stop string absent before this token can only end in it: decode the tail, or all of it near min_tokens.
      const near = n - min < this.stopWindow;
      const text = s.decode!(near ? this.newTokens : this.newTokens.slice(-this.stopWindow));
      if (stopIndex(text, stops, near ? this.stopFrom : 0) >= 0) this.finishReason = "stop";
    }
  }
}

/** Logits of the last position of each row, [B, vocab], without computing the others'. */
function lastLogits(model: Qwen2Model, hidden: tf.Tensor2D, B: number, L: number): tf.Tensor2D {
  const H = hidden.shape[1];
  return tf.tidy(() => model.logitsFromHidden(L === 1 ? hidden : (tf.slice(hidden.reshape([B, L, H]), [0, L - 1, 0], [B, 1, H]).reshape([B, H]) as tf.Tensor2D)));
}

/** Rows `indices` (ascending) of t along axis 0, from column `drop` on along axis 2: slices of runs of rows (tf.gather is slow on wasm). */
function selectRows(t: tf.Tensor4D, indices: number[], drop: number): tf.Tensor4D {
  const runs: [number, number][] = [];
  for (const i of indices) {
    const last = runs.at(-1);
    if (last && last[0] + last[1] === i) last[1]++;
    else runs.push([i, 1]);
  }
  return tf.tidy(() => {
    const parts = runs.map(([start, size]) => tf.slice(t, [start, 0, drop, 0], [size, -1, -1, -1]));
    return (parts.length === 1 ? parts[0]! : tf.concat(parts, 0)) as tf.Tensor4D;
  });
}

/**
 * Sequences decoding together: their left-padded prompts, attention mask and KV cache. The prompts go through the
 * model in chunks (`prefill`), then every row advances one token per `step`. Rows can leave (`keep`) and two
 * batches past their prefill can merge (`absorb`): caches are left-padded to one length, which the attention mask
 * hides, so every row computes what it would alone.
 */
export class DecodeBatch {
  readonly cache = new KVCache();
  /** [B, cache length + 1 once decoding]: the prompt's mask, then a 1 for each token fed or about to be fed. */
  private mask: number[][];
  private prompt: number[][];
  private readonly promptLength: number;
  private consumed = 0;
  /** Each row's token to feed at the next step (the pad id for finished rows). */
  private pending: number[] = [];

  constructor(
    private readonly model: Qwen2Model,
    readonly rows: Sequence[],
    input: { inputIds: number[][]; attentionMask?: number[][] },
    private readonly padTokenId: number,
  ) {
    if (input.inputIds.length !== rows.length) throw new Error(`DecodeBatch: ${input.inputIds.length} prompts for ${rows.length} rows`);
    this.prompt = input.inputIds;
    this.promptLength = input.inputIds[0]?.length ?? 0;
    this.mask = (input.attentionMask ?? input.inputIds.map((r) => r.map(() => 1))).map((r) => [...r]);
  }

  /** Prompt columns not yet through the model. */
  get promptLeft(): number {
    return this.promptLength - this.consumed;
  }

  /** Positions the KV cache holds (the widest row's prompt and generated tokens, with its padding). */
  get length(): number {
    return this.cache.length;
  }

  /** Runs the next `n` prompt columns through the model; at the prompt's end returns its last logits [B, vocab]. */
  prefill(n: number): tf.Tensor2D | null {
    const L = this.promptLength;
    const start = this.consumed, end = Math.min(L, start + Math.max(1, n));
    const hidden = this.model.hiddenStates(
      { inputIds: this.prompt.map((r) => r.slice(start, end)), attentionMask: this.mask.map((r) => r.slice(0, end)) },
      { cache: this.cache },
    );
    this.consumed = end;
    try {
      return end < L ? null : lastLogits(this.model, hidden, this.rows.length, end - start);
    } finally {
      hidden.dispose();
      if (end === L) this.prompt = [];
    }
  }

  /** Feeds each row's pending token: the next logits [B, vocab]. */
  step(): tf.Tensor2D {
    const hidden = this.model.hiddenStates({ inputIds: this.pending.map((t) => [t]), attentionMask: this.mask }, { cache: this.cache });
    try {
      return lastLogits(this.model, hidden, this.rows.length, 1);
    } finally {
      hidden.dispose();
    }
  }

  /** Every running row picks and accepts its next token from the logits read back; null for rows already finished. */
  advance(flat: Float32Array): (number | null)[] {
    const V = this.model.config.vocabSize;
    const out = this.rows.map((row, b) => {
      if (row.finishReason !== null) return null;
      const token = row.choose(flat.subarray(b * V, (b + 1) * V));
      row.accept(token);
      return token;
    });
    this.pending = out.map((t) => t ?? this.padTokenId);
    for (const m of this.mask) m.push(1);
    return out;
  }

  /** Keeps the rows at `indices` (ascending); cache columns that only the others attended to are dropped. */
  keep(indices: number[]): void {
    if (indices.length === this.rows.length && indices.every((i, j) => i === j)) return;
    if (this.promptLeft > 0) throw new Error("DecodeBatch.keep: rows can leave once the prefill is done");
    const rows = indices.map((i) => this.rows[i]!);
    const mask = indices.map((i) => this.mask[i]!);
    let drop = Math.min(...mask.map((m) => { const first = m.indexOf(1); return first < 0 ? m.length : first; }));
    drop = Math.min(drop, this.cache.length);
    this.rows.splice(0, this.rows.length, ...rows);
    this.mask = mask.map((m) => m.slice(drop));
    this.pending = indices.map((i) => this.pending[i]!);
    const layers = rows.length ? this.cache.layers.map(({ k, v }) => ({ k: selectRows(k, indices, drop), v: selectRows(v, indices, drop) })) : [];
    this.cache.dispose();
    this.cache.layers.push(...layers);
  }

  /** Moves `other`'s rows (decoding too: both past their prefill) after this batch's; `other` is left empty. */
  absorb(other: DecodeBatch): void {
    if (this.promptLeft > 0 || other.promptLeft > 0) throw new Error("DecodeBatch.absorb: both batches must have finished their prefill");
    const T = Math.max(this.length, other.length);
    const padMask = (m: number[][], t: number) => m.map((r) => [...new Array<number>(T - t).fill(0), ...r]);
    const padCache = (x: tf.Tensor4D, t: number) => (t < T ? tf.pad(x, [[0, 0], [0, 0], [T - t, 0], [0, 0]]) : x);
    const layers = this.cache.layers.map((a, l) => {
      const b = other.cache.layers[l]!;
      return tf.tidy(() => ({
        k: tf.concat([padCache(a.k, this.length), padCache(b.k, other.length)], 0) as tf.Tensor4D,
        v: tf.concat([padCache(a.v, this.length), padCache(b.v, other.length)], 0) as tf.Tensor4D,
      }));
    });
    this.mask = [...padMask(this.mask, this.length), ...padMask(other.mask, other.length)];
    this.pending = [...this.pending, ...other.pending];
    this.rows.push(...other.rows.splice(0));
    this.cache.dispose();
    this.cache.layers.push(...layers);
    other.dispose();
  }

  dispose(): void {
    this.cache.dispose();
  }
}

/**
 * Autoregressive generation with a KV cache (the prompt in chunks, then one token per step), batched over
 * left-padded prompts, like transformers' generate(): greedy or seeded sampling; rows stop on EOS ids,
 * stop strings or max_new_tokens. Reads the logits synchronously: on WebGPU use generateAsync.
 */
export function generate(model: Qwen2Model, input: { inputIds: number[][]; attentionMask?: number[][] }, opts: GenerateOptions): GenerateResult {
  const steps = generationSteps(model, input, opts);
  try {
    let next = steps.next();
    while (!next.done) next = steps.next(next.value ? readAndDispose(next.value, (t) => t.dataSync() as Float32Array) : undefined);
    return next.value;
  } finally {
    steps.return(undefined as never); // frees the KV cache when a read failed
  }
}

/**
 * `generate` reading each step's logits asynchronously (as a GPU backend needs) and giving the event loop a
 * turn after every prefill chunk and token step: a server streams tokens and takes requests meanwhile.
 */
export async function generateAsync(model: Qwen2Model, input: { inputIds: number[][]; attentionMask?: number[][] }, opts: GenerateOptions): Promise<GenerateResult> {
  const steps = generationSteps(model, input, opts);
  try {
    let next = steps.next();
    while (!next.done) {
      const flat = next.value ? await readAndDispose(next.value, (t) => t.data() as Promise<Float32Array>) : undefined;
      await new Promise((r) => setImmediate(r));
      next = steps.next(flat);
    }
    return next.value;
  } finally {
    steps.return(undefined as never);
  }
}

/** `read(t)`, then t is disposed (once the read has finished, when it is a promise), whether it failed or not. */
function readAndDispose<T>(t: tf.Tensor, read: (t: tf.Tensor) => T): T {
  let result: T;
  try {
    result = read(t);
  } catch (e) {
    t.dispose();
    throw e;
  }
  if (result instanceof Promise) return result.finally(() => t.dispose()) as T;
  t.dispose();
  return result;
}

/** The sequences of a generate() call: per-row settings (`rows`), or the call's settings with one shared RNG. */
function sequencesFor(input: { inputIds: number[][]; attentionMask?: number[][] }, opts: GenerateOptions, eos: number[]): Sequence[] {
  const B = input.inputIds.length;
  if (opts.rows && opts.rows.length !== B) throw new Error(`generate: ${opts.rows.length} entries in rows for ${B} prompts`);
  if (opts.stopStrings?.length && !opts.decode) throw new Error("generate: stopStrings need a decode function");
  const prompt = (b: number) => input.inputIds[b]!.filter((_, t) => (input.attentionMask?.[b]?.[t] ?? 1) === 1);
  const budget = (b: number, own?: number) => Math.min(opts.maxNewTokens, opts.rowMaxNewTokens?.[b] ?? Infinity, own ?? Infinity);
  if (opts.rows) {
    return opts.rows.map((r, b) => new Sequence(prompt(b), { ...r, maxNewTokens: budget(b, r.maxNewTokens), eosTokenIds: eos, decode: opts.decode },
      r.seed === undefined ? freshRandom() : seededRandom(r.seed)));
  }
  const shared = seededRandom(opts.seed ?? 0);
  const settings = { temperature: opts.temperature, topK: opts.topK, topP: opts.topP, stopStrings: opts.stopStrings, greedy: !opts.doSample, eosTokenIds: eos, decode: opts.decode };
  return input.inputIds.map((_, b) => new Sequence(prompt(b), { ...settings, maxNewTokens: budget(b) }, shared));
}

/** The generation loop: yields each step's logits [B, vocab] (null after a prefill chunk) and resumes with their values. */
function* generationSteps(
  model: Qwen2Model,
  input: { inputIds: number[][]; attentionMask?: number[][] },
  opts: GenerateOptions,
): Generator<tf.Tensor2D | null, GenerateResult, Float32Array | undefined> {
  const cfgEos = model.config.eosTokenId;
  const eos = opts.eosTokenIds ?? (cfgEos === null ? [] : Array.isArray(cfgEos) ? cfgEos : [cfgEos]);
  const pad = opts.padTokenId ?? eos[0] ?? 0;
  const rows = sequencesFor(input, opts, eos);
  let steps = 0;
  const result = (): GenerateResult => ({
    sequences: input.inputIds.map((r, b) => [...r, ...rows[b]!.newTokens, ...new Array<number>(steps - rows[b]!.newTokens.length).fill(pad)]),
    newTokens: rows.map((r) => r.newTokens),
    finishReasons: rows.map((r) => r.finishReason ?? "length"),
  });
  if (opts.maxNewTokens < 1 || rows.length === 0) return result();
  const batch = new DecodeBatch(model, rows, input, pad);
  const chunk = opts.prefillChunk ?? DEFAULT_PREFILL_CHUNK;
  try {
    let logits: tf.Tensor2D | null = null;
    while (!logits) {
      logits = batch.prefill(chunk);
      if (!logits) yield null;
    }
    for (;;) {
      const flat = (yield logits)!;
      if (opts.onLogits) {
        const V = model.config.vocabSize;
        opts.onLogits(steps, rows.map((_, b) => flat.slice(b * V, (b + 1) * V)));
      }
      const tokens = batch.advance(flat);
      tokens.forEach((token, row) => token !== null && opts.onToken?.({ row, token, step: steps }));
      steps++;
      if (rows.every((r) => r.finishReason !== null)) break;
      logits = batch.step();
    }
  } finally {
    batch.dispose();
  }
  return result();
}
